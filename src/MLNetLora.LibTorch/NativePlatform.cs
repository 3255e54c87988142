using System.Runtime.InteropServices;

namespace MLNetLora.LibTorch;

/// <summary>The operating systems libtorch ships for, each with its own library file names.</summary>
public enum NativeOs
{
    /// <summary><c>lib*.so</c>, NuGet runtime identifiers <c>linux-*</c>.</summary>
    Linux,

    /// <summary><c>*.dll</c> without a <c>lib</c> prefix (<c>torch_cpu.dll</c>), <c>win-*</c>.</summary>
    Windows,

    /// <summary><c>lib*.dylib</c>, <c>osx-*</c>.</summary>
    MacOS,
}

/// <summary>
/// An operating system and processor pair: where the libtorch NuGet packages put their files
/// (<c>runtimes/&lt;rid&gt;/native</c>), what the files are called, and which package to add. The loader asks
/// <see cref="Current"/>; tests ask the others, so every platform's names are checked on any machine.
/// </summary>
/// <param name="Os">The operating system.</param>
/// <param name="Architecture">The processor, as .NET names it (<c>x64</c>, <c>arm64</c>).</param>
public readonly record struct NativePlatform(NativeOs Os, Architecture Architecture)
{
    /// <summary>The platform this process runs on.</summary>
    public static NativePlatform Current { get; } = new(
        OperatingSystem.IsWindows() ? NativeOs.Windows : OperatingSystem.IsMacOS() ? NativeOs.MacOS : NativeOs.Linux,
        RuntimeInformation.ProcessArchitecture);

    /// <summary>The portable runtime identifier NuGet packages use: <c>linux-x64</c>, <c>win-x64</c>, <c>osx-arm64</c>.</summary>
    public string RuntimeIdentifier => $"{OsPrefix}-{Architecture.ToString().ToLowerInvariant()}";

    /// <summary>The file name of a libtorch library such as <c>torch_cpu</c>: <c>libtorch_cpu.so</c>, <c>torch_cpu.dll</c>, <c>libtorch_cpu.dylib</c>.</summary>
    public string LibraryFileName(string name) => Os switch
    {
        NativeOs.Windows => name + ".dll",
        NativeOs.MacOS => "lib" + name + ".dylib",
        _ => "lib" + name + ".so",
    };

    /// <summary>
    /// The CPU libtorch 2.10 package for this platform (TorchSharp's <c>libtorch-cpu-&lt;rid&gt;</c>), or null where none
    /// is published (Intel macs, Linux on arm64).
    /// </summary>
    public string? CpuPackage => RuntimeIdentifier is "linux-x64" or "win-x64" or "win-arm64" or "osx-arm64" ? "libtorch-cpu-" + RuntimeIdentifier : null;

    /// <summary>The TorchSharp bundle whose libtorch packages carry CUDA for this platform, or null where there is none.</summary>
    public string? CudaBundle => RuntimeIdentifier switch
    {
        "linux-x64" => "TorchSharp-cuda-linux",
        "win-x64" => "TorchSharp-cuda-windows",
        _ => null,
    };

    private string OsPrefix => Os switch
    {
        NativeOs.Windows => "win",
        NativeOs.MacOS => "osx",
        _ => "linux",
    };
}
