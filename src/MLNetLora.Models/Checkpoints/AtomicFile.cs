namespace MLNetLora.Models.Checkpoints;

/// <summary>
/// Writes a file so that readers see either the old content or the complete new content, never a torn file:
/// a crash while saving a checkpoint must not destroy the previous one.
/// </summary>
internal static class AtomicFile
{
    /// <summary>
    /// Runs <paramref name="write"/> against a temporary file next to <paramref name="path"/>, flushes it to disk,
    /// then renames it over <paramref name="path"/>. The temporary file is deleted if anything fails.
    /// </summary>
    /// <exception cref="IOException">The file could not be written or renamed.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable.</exception>
    public static void Write(string path, Action<FileStream> write)
    {
        string full = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        // Same folder as the target so the final rename stays on one file system and is atomic.
        string temp = full + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // The original error matters more than a leftover temporary file.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
