using System.Runtime.InteropServices;
using System.Text;

namespace MLNetLora.LibTorch;

/// <summary>Where libtorch was loaded from and what it offers.</summary>
/// <param name="Directory">The folder whose libraries were loaded.</param>
/// <param name="AbiVersion">libtorch's stable ABI version (<c>0x020A...</c> is 2.10).</param>
/// <param name="CudaLoaded">Whether <c>libtorch_cuda</c> was loaded, so CUDA kernels are registered.</param>
/// <param name="Attempts">Every path tried, in order, with its outcome.</param>
public sealed record LibTorchInfo(string Directory, ulong AbiVersion, bool CudaLoaded, IReadOnlyList<string> Attempts)
{
    /// <summary>The version as <c>major.minor</c>, read from the ABI version's top bytes.</summary>
    public string Version => $"{(AbiVersion >> 56) & 0xFF}.{(AbiVersion >> 48) & 0xFF}";
}

/// <summary>
/// Finds and loads libtorch. Search order: the folder named by <c>MLNETLORA_LIBTORCH</c> (and only
/// that folder when the variable is set, so a wrong setting is reported rather than silently
/// ignored), then the app's <c>runtimes/&lt;rid&gt;/native</c> folder that the <c>libtorch-*</c>
/// NuGet packages fill, then the app folder itself. Every attempt is recorded for the error message.
/// </summary>
internal static class LibTorchLoader
{
    public const string EnvironmentVariable = "MLNETLORA_LIBTORCH";
    private const ulong MinimumAbi = 0x020A000000000000UL; // 2.10

    /// <summary>The folders to try, in order, for the given environment value and app folder.</summary>
    public static IReadOnlyList<string> CandidateDirectories(string? envValue, string baseDirectory)
    {
        if (!string.IsNullOrWhiteSpace(envValue)) return [envValue];
        string rid = RuntimeInformation.RuntimeIdentifier;
        string portableRid = $"{OsPrefix()}-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
        var dirs = new List<string> { Path.Combine(baseDirectory, "runtimes", rid, "native") };
        if (portableRid != rid) dirs.Add(Path.Combine(baseDirectory, "runtimes", portableRid, "native"));
        dirs.Add(baseDirectory);
        return dirs;
    }

    /// <summary>Platform file name of a libtorch library such as <c>torch_cpu</c>.</summary>
    public static string LibraryFileName(string name) =>
        OperatingSystem.IsWindows() ? name + ".dll"
        : OperatingSystem.IsMacOS() ? "lib" + name + ".dylib"
        : "lib" + name + ".so";

    /// <summary>
    /// Loads libtorch from the first candidate folder that works.
    /// </summary>
    /// <exception cref="LibTorchNotFoundException">No folder held a loadable libtorch ≥ 2.10.</exception>
    public static (nint TorchCpu, LibTorchInfo Info) Load(string? envValue, string baseDirectory)
    {
        var attempts = new List<string>();
        foreach (string dir in CandidateDirectories(envValue, baseDirectory))
        {
            nint cpu = TryLoadCpu(dir, attempts);
            if (cpu == 0) continue;
            bool cuda = TryLoadCuda(dir, attempts);
            return (cpu, new LibTorchInfo(dir, 0, cuda, attempts));
        }
        throw new LibTorchNotFoundException(BuildMessage(envValue, attempts), attempts);
    }

    internal static void CheckAbi(ulong abi, string dir)
    {
        if (abi < MinimumAbi)
            throw new LibTorchNotFoundException(
                $"libtorch in '{dir}' reports ABI version 0x{abi:X16}; MLNetLora needs libtorch 2.10 or newer. " +
                $"Point {EnvironmentVariable} at the torch/lib folder of PyTorch >= 2.10, or unset it to use the libtorch-cpu-linux-x64 2.10.0 package.");
    }

    private static nint TryLoadCpu(string dir, List<string> attempts)
    {
        if (!Directory.Exists(dir))
        {
            attempts.Add($"{dir}: folder does not exist");
            return 0;
        }
        // c10 first: torch_cpu links against it and some loaders do not search the library's own folder.
        if (!TryLoadOne(Path.Combine(dir, LibraryFileName("c10")), attempts, out _)) return 0;
        return TryLoadOne(Path.Combine(dir, LibraryFileName("torch_cpu")), attempts, out nint h) ? h : 0;
    }

    private static bool TryLoadCuda(string dir, List<string> attempts)
    {
        string cudaLib = Path.Combine(dir, LibraryFileName("torch_cuda"));
        if (!File.Exists(cudaLib))
        {
            attempts.Add($"{cudaLib}: not present (CPU-only libtorch)");
            return false;
        }
        // Loading torch_cuda registers the CUDA kernels with the dispatcher; failure (no driver) leaves CPU working.
        string c10Cuda = Path.Combine(dir, LibraryFileName("c10_cuda"));
        if (File.Exists(c10Cuda) && !TryLoadOne(c10Cuda, attempts, out _)) return false;
        return TryLoadOne(cudaLib, attempts, out _);
    }

    private static bool TryLoadOne(string path, List<string> attempts, out nint handle)
    {
        handle = 0;
        if (!File.Exists(path))
        {
            attempts.Add($"{path}: file not found");
            return false;
        }
        try
        {
            handle = NativeLibrary.Load(path);
            attempts.Add($"{path}: loaded");
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            attempts.Add($"{path}: failed to load ({e.Message.Trim()})");
            return false;
        }
    }

    private static string BuildMessage(string? envValue, List<string> attempts)
    {
        var sb = new StringBuilder("libtorch could not be loaded. Tried:\n");
        foreach (string a in attempts) sb.Append("  - ").Append(a).Append('\n');
        if (!string.IsNullOrWhiteSpace(envValue))
        {
            sb.Append($"{EnvironmentVariable} is set to '{envValue}', so only that folder was searched. ")
              .Append("Point it at a folder that holds libtorch_cpu (for a PyTorch install: ")
              .Append("python -c \"import torch, os; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))\"), ")
              .Append("or unset it to use the libtorch-cpu-linux-x64 NuGet package.");
        }
        else
        {
            sb.Append("Add the NuGet package libtorch-cpu-linux-x64 (2.10.0) to your application, ")
              .Append($"or set {EnvironmentVariable} to the torch/lib folder of a PyTorch >= 2.10 install (needed for CUDA).");
        }
        return sb.ToString();
    }

    private static string OsPrefix() =>
        OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
}
