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

    /// <summary>
    /// What became of the CUDA libraries, in words: "loaded", "not present (CPU-only libtorch)", or the loader's reason
    /// ("failed to load (libcudart.so.12: cannot open shared object file)"), so a missing driver is told from a CPU build.
    /// </summary>
    public string CudaStatus
    {
        get
        {
            if (CudaLoaded) return "loaded";
            string? cuda = Attempts.LastOrDefault(a => a.Contains("cuda", StringComparison.OrdinalIgnoreCase));
            if (cuda is null) return "not tried";
            int colon = cuda.IndexOf(": ", StringComparison.Ordinal);
            return colon < 0 ? cuda : cuda[(colon + 2)..];
        }
    }
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

    /// <summary>
    /// The folders to try, in order: the variable's folder alone when it is set; otherwise the app's
    /// <c>runtimes/&lt;rid&gt;/native</c> folders (the process's own identifier, then the portable one the libtorch
    /// packages use, when they differ) and the app folder itself (where a self-contained publish puts them).
    /// </summary>
    public static IReadOnlyList<string> CandidateDirectories(string? envValue, string baseDirectory) =>
        CandidateDirectories(envValue, baseDirectory, NativePlatform.Current, RuntimeInformation.RuntimeIdentifier);

    /// <summary>The same for another platform and runtime identifier (tests check each platform's folders).</summary>
    public static IReadOnlyList<string> CandidateDirectories(string? envValue, string baseDirectory, NativePlatform platform, string runtimeIdentifier)
    {
        if (!string.IsNullOrWhiteSpace(envValue)) return [envValue];
        var dirs = new List<string> { Path.Combine(baseDirectory, "runtimes", runtimeIdentifier, "native") };
        if (platform.RuntimeIdentifier != runtimeIdentifier) dirs.Add(Path.Combine(baseDirectory, "runtimes", platform.RuntimeIdentifier, "native"));
        dirs.Add(baseDirectory);
        return dirs;
    }

    /// <summary>Platform file name of a libtorch library such as <c>torch_cpu</c>.</summary>
    public static string LibraryFileName(string name) => NativePlatform.Current.LibraryFileName(name);

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
        throw new LibTorchNotFoundException(BuildMessage(envValue, attempts, NativePlatform.Current), attempts);
    }

    internal static void CheckAbi(ulong abi, string dir)
    {
        if (abi < MinimumAbi)
            throw new LibTorchNotFoundException(
                $"libtorch in '{dir}' reports ABI version 0x{abi:X16}; MLNetLora needs libtorch 2.10 or newer. " +
                $"Point {EnvironmentVariable} at the torch/lib folder of PyTorch >= 2.10, or unset it to use the libtorch-cpu-{NativePlatform.Current.RuntimeIdentifier} 2.10.0 package.");
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

    /// <summary>The error text: every attempt, then what to do on this platform.</summary>
    internal static string BuildMessage(string? envValue, IReadOnlyList<string> attempts, NativePlatform platform)
    {
        var sb = new StringBuilder("libtorch could not be loaded. Tried:\n");
        foreach (string a in attempts) sb.Append("  - ").Append(a).Append('\n');
        string package = platform.CpuPackage is string p ? $"the NuGet package {p} (2.10.0)" : "a libtorch 2.10 CPU package for your platform";
        if (!string.IsNullOrWhiteSpace(envValue))
        {
            sb.Append($"{EnvironmentVariable} is set to '{envValue}', so only that folder was searched. ")
              .Append($"Point it at a folder that holds {platform.LibraryFileName("torch_cpu")} (for a PyTorch install: ")
              .Append("python -c \"import torch, os; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))\"), ")
              .Append($"or unset it to use {package}.");
        }
        else
        {
            sb.Append($"Add {package} to your application");
            if (platform.CpuPackage is null) sb.Append($" (none is published for {platform.RuntimeIdentifier})");
            sb.Append($", or set {EnvironmentVariable} to the torch/lib folder of a PyTorch >= 2.10 install");
            sb.Append(platform.CudaBundle is string cuda ? $" (for CUDA: that, or the libtorch packages that {cuda} brings)." : ".");
        }
        return sb.ToString();
    }
}
