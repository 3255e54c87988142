using System.Runtime.InteropServices;

namespace MLNetLora.LibTorch.Interop;

/// <summary>
/// The C library's environment, which libtorch reads with <c>getenv</c>. .NET's
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach it on Unix.
/// </summary>
internal static partial class LibC
{
    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetEnv(string name);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int MAdvise(nint address, nuint length, int advice);

    private const int MadvHugePage = 14;
    private const long HugePage = 2L << 20;

    /// <summary>
    /// Asks the kernel for transparent huge pages over the 2 MiB-aligned interior of a fresh, untouched
    /// block (Linux with THP in "madvise" or "always" mode; elsewhere, or when refused, nothing happens).
    /// </summary>
    public static void AdviseHugePages(nint address, long length)
    {
        if (!OperatingSystem.IsLinux() || length < 2 * HugePage) return;
        long start = (address + HugePage - 1) & ~(HugePage - 1);
        long end = (address + length) & ~(HugePage - 1);
        if (end > start) _ = MAdvise((nint)start, (nuint)(end - start), MadvHugePage);
    }

    /// <summary>The value native code sees for <paramref name="name"/>, or null.</summary>
    public static string? Get(string name) => OperatingSystem.IsWindows() ? null : Marshal.PtrToStringUTF8(GetEnv(name));

    /// <summary>Sets <paramref name="name"/> unless it is already set (Linux only; elsewhere a no-op).</summary>
    public static void SetDefault(string name, string value)
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(name) is not null) return;
        _ = SetEnv(name, value, 0);
    }
}
