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

    /// <summary>The value native code sees for <paramref name="name"/>, or null.</summary>
    public static string? Get(string name) => OperatingSystem.IsWindows() ? null : Marshal.PtrToStringUTF8(GetEnv(name));

    /// <summary>Sets <paramref name="name"/> unless it is already set (Linux only; elsewhere a no-op).</summary>
    public static void SetDefault(string name, string value)
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(name) is not null) return;
        _ = SetEnv(name, value, 0);
    }
}
