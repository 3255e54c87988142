namespace MLNetLora.Tests;

/// <summary>Locates the repository and the <c>shared/</c> folder that CI places beside it.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The <c>../shared</c> folder next to the checkout.</summary>
    public static string Shared { get; } = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    /// <summary>
    /// A Hugging Face fixture folder, e.g. <c>Fixture("llama")</c>: under <c>MLNETLORA_FIXTURES</c> when set (the GPU machine
    /// gets the fixtures in the packed folder, without ../shared), else under shared/fixtures/hf.
    /// </summary>
    public static string Fixture(string name) =>
        Environment.GetEnvironmentVariable("MLNETLORA_FIXTURES") is { Length: > 0 } root ? Path.Combine(root, name) : Path.Combine(Shared, "fixtures", "hf", name);

    /// <summary>A data file from <c>shared/data</c>.</summary>
    public static string Data(string name) => Path.Combine(Shared, "data", name);

    /// <summary>A fresh empty temporary folder, deleted by the caller or left for the OS.</summary>
    public static string NewTempDir()
    {
        string d = Path.Combine(Path.GetTempPath(), "mlnetlora-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MLNetLora.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("MLNetLora.sln not found above " + AppContext.BaseDirectory);
    }
}
