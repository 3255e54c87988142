namespace MLNetLora.Tests.Tokenization;

/// <summary>Builds throwaway tokenizer folders from fixture files plus hand-written JSON.</summary>
public static class TokenizerFolder
{
    /// <summary>A fresh folder holding copies of <paramref name="files"/> from fixture <paramref name="fixture"/>.</summary>
    public static string CopyOf(string fixture, params string[] files)
    {
        string dir = TestPaths.NewTempDir();
        foreach (string f in files) File.Copy(Path.Combine(TestPaths.Fixture(fixture), f), Path.Combine(dir, f));
        return dir;
    }

    /// <summary>Writes <paramref name="json"/> as <paramref name="file"/> in <paramref name="dir"/> and returns the folder.</summary>
    public static string With(this string dir, string file, string json)
    {
        File.WriteAllText(Path.Combine(dir, file), json);
        return dir;
    }
}
