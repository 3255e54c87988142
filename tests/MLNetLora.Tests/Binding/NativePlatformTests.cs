using System.Runtime.InteropServices;
using MLNetLora.LibTorch;

namespace MLNetLora.Tests.Binding;

/// <summary>
/// The loader's file names, folders and advice on each platform the libtorch 2.10 packages ship for. The names are those
/// inside libtorch-cpu-linux-x64, -win-x64 and -osx-arm64 2.10.0 (listed from the restored packages on 2026-12-03).
/// </summary>
public class NativePlatformTests
{
    private static readonly NativePlatform Linux = new(NativeOs.Linux, Architecture.X64);
    private static readonly NativePlatform Windows = new(NativeOs.Windows, Architecture.X64);
    private static readonly NativePlatform Mac = new(NativeOs.MacOS, Architecture.Arm64);

    [Test]
    public void LibraryFileName_EachPlatform_IsThePackagedName()
    {
        Assert.That(new[] { "c10", "torch_cpu", "c10_cuda", "torch_cuda" }.Select(Linux.LibraryFileName),
            Is.EqualTo(new[] { "libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so" }));
        Assert.That(new[] { "c10", "torch_cpu", "c10_cuda", "torch_cuda" }.Select(Windows.LibraryFileName),
            Is.EqualTo(new[] { "c10.dll", "torch_cpu.dll", "c10_cuda.dll", "torch_cuda.dll" }));
        Assert.That(new[] { "c10", "torch_cpu" }.Select(Mac.LibraryFileName), Is.EqualTo(new[] { "libc10.dylib", "libtorch_cpu.dylib" }));
    }

    [Test]
    public void RuntimeIdentifier_EachPlatform_IsThePackagesFolder()
    {
        Assert.That(Linux.RuntimeIdentifier, Is.EqualTo("linux-x64"));
        Assert.That(Windows.RuntimeIdentifier, Is.EqualTo("win-x64"));
        Assert.That(Mac.RuntimeIdentifier, Is.EqualTo("osx-arm64"));
        Assert.That(new NativePlatform(NativeOs.Linux, Architecture.Arm64).RuntimeIdentifier, Is.EqualTo("linux-arm64"));
    }

    [Test]
    public void CpuPackage_PublishedPlatforms_NameTheirPackage_OthersNone()
    {
        Assert.That(Linux.CpuPackage, Is.EqualTo("libtorch-cpu-linux-x64"));
        Assert.That(Windows.CpuPackage, Is.EqualTo("libtorch-cpu-win-x64"));
        Assert.That(Mac.CpuPackage, Is.EqualTo("libtorch-cpu-osx-arm64"));
        Assert.That(new NativePlatform(NativeOs.MacOS, Architecture.X64).CpuPackage, Is.Null, "PyTorch 2.10 has no Intel-mac build");
        Assert.That(Linux.CudaBundle, Is.EqualTo("TorchSharp-cuda-linux"));
        Assert.That(Windows.CudaBundle, Is.EqualTo("TorchSharp-cuda-windows"));
        Assert.That(Mac.CudaBundle, Is.Null);
    }

    [TestCase(NativeOs.Linux, Architecture.X64, "linux-x64", "/app/runtimes/linux-x64/native")]
    [TestCase(NativeOs.Windows, Architecture.X64, "win-x64", "/app/runtimes/win-x64/native")]
    [TestCase(NativeOs.MacOS, Architecture.Arm64, "osx-arm64", "/app/runtimes/osx-arm64/native")]
    public void CandidateDirectories_PortableRid_PackageFolderThenAppFolder(NativeOs os, Architecture arch, string rid, string packageFolder)
    {
        var dirs = LibTorchLoader.CandidateDirectories(null, "/app", new NativePlatform(os, arch), rid);
        Assert.That(dirs.Select(d => d.Replace('\\', '/')), Is.EqualTo(new[] { packageFolder, "/app" }));
    }

    [Test]
    public void CandidateDirectories_DistroRid_AlsoTriesThePortableFolder()
    {
        // A runtime built for one distribution reports e.g. debian.12-x64; the packages only fill linux-x64.
        var dirs = LibTorchLoader.CandidateDirectories(null, "/app", Linux, "debian.12-x64");
        Assert.That(dirs.Select(d => d.Replace('\\', '/')), Is.EqualTo(new[] { "/app/runtimes/debian.12-x64/native", "/app/runtimes/linux-x64/native", "/app" }));
    }

    [Test]
    public void BuildMessage_EachPlatform_NamesItsPackageAndCudaBundle()
    {
        string[] tried = ["/app/runtimes/x/native: folder does not exist"];
        Assert.That(LibTorchLoader.BuildMessage(null, tried, Windows),
            Does.Contain("libtorch-cpu-win-x64 (2.10.0)").And.Contain("TorchSharp-cuda-windows").And.Contain("  - /app/runtimes/x/native: folder does not exist"));
        Assert.That(LibTorchLoader.BuildMessage(null, tried, Mac), Does.Contain("libtorch-cpu-osx-arm64").And.Not.Contain("CUDA"));
        Assert.That(LibTorchLoader.BuildMessage(null, tried, new NativePlatform(NativeOs.MacOS, Architecture.X64)),
            Does.Contain("none is published for osx-x64"));
        Assert.That(LibTorchLoader.BuildMessage("/opt/torch/lib", tried, Windows),
            Does.Contain("holds torch_cpu.dll").And.Contain("only that folder was searched"));
    }

    [Test]
    public void Load_FolderWithCudaLibraries_TriesThemAfterTheCpuOnes()
    {
        // A folder laid out like PyTorch's torch/lib or a CUDA package's native folder, with files that are not libraries:
        // the trace shows the order c10, torch_cpu; the CPU load fails first, so CUDA is never tried before it.
        string dir = TestPaths.NewTempDir();
        foreach (string name in new[] { "c10", "torch_cpu", "c10_cuda", "torch_cuda" })
            File.WriteAllText(Path.Combine(dir, NativePlatform.Current.LibraryFileName(name)), "not a library");
        var ex = Assert.Throws<LibTorchNotFoundException>(() => LibTorchLoader.Load(dir, "/nonexistent-app-dir"));
        Assert.That(ex!.Attempts, Has.Count.EqualTo(1));
        Assert.That(ex.Attempts[0], Does.StartWith(Path.Combine(dir, NativePlatform.Current.LibraryFileName("c10"))).And.Contain("failed to load"));
        Directory.Delete(dir, recursive: true);
    }

    [Test]
    public void CudaStatus_TellsAMissingDriverFromACpuBuild()
    {
        var cpuOnly = new LibTorchInfo("/t", 0, false, ["/t/libc10.so: loaded", "/t/libtorch_cpu.so: loaded", "/t/libtorch_cuda.so: not present (CPU-only libtorch)"]);
        var noDriver = new LibTorchInfo("/t", 0, false, ["/t/libc10.so: loaded", "/t/libtorch_cpu.so: loaded", "/t/libc10_cuda.so: loaded",
            "/t/libtorch_cuda.so: failed to load (libcuda.so.1: cannot open shared object file)"]);
        Assert.That(cpuOnly.CudaStatus, Is.EqualTo("not present (CPU-only libtorch)"));
        Assert.That(noDriver.CudaStatus, Is.EqualTo("failed to load (libcuda.so.1: cannot open shared object file)"));
        Assert.That((new LibTorchInfo("/t", 0, true, []) ).CudaStatus, Is.EqualTo("loaded"));
    }
}
