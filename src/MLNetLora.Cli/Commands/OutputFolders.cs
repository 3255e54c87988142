namespace MLNetLora.Cli.Commands;

/// <summary>Checks that a command can write where it is told to, before it loads anything.</summary>
public static class OutputFolders
{
    /// <summary>Creates <paramref name="dir"/> if needed and writes and deletes a probe file in it.</summary>
    /// <param name="dir">The folder.</param>
    /// <param name="flag">The flag that named it, for the message.</param>
    /// <param name="why">What the command writes there.</param>
    /// <exception cref="UsageException">The folder cannot be created or written (read-only mount, permissions, a file in the way, no space).</exception>
    public static void RequireWritable(string dir, string flag, string why)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        string probe = Path.Combine(dir, ".mlnetlora-write-check-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(probe, [1]);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"Cannot write to '{dir}' ({e.Message}). {why}; choose a writable {flag} folder " +
                "(check its permissions, read-only mounts and free space).");
        }
    }
}
