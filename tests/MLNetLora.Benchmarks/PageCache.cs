using System.Runtime.InteropServices;

namespace MLNetLora.Benchmarks;

/// <summary>Empties the Linux page cache so a read has to come from the disk.</summary>
internal static partial class PageCache
{
    private const string DropCaches = "/proc/sys/vm/drop_caches";

    /// <summary>Syncs, then drops clean cached pages (needs root); returns why it could not, or null when it did.</summary>
    public static string? TryDrop()
    {
        if (!OperatingSystem.IsLinux()) return "dropping the page cache is only implemented for Linux";
        try
        {
            // drop_caches skips dirty pages, so anything not yet written back would stay cached without this.
            Sync();
            File.WriteAllText(DropCaches, "3");
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"writing {DropCaches} failed: {e.Message}";
        }
    }

    [DllImport("libc", EntryPoint = "sync")]
    private static extern void Sync();
}
