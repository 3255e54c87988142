using System.Text.RegularExpressions;

namespace MLNetLora.Tests.Configuration;

/// <summary>The library layers speak in property names; only the CLI knows its flags (it maps them in CliOptionNames).</summary>
public partial class LayerVocabularyTests
{
    [TestCase("MLNetLora.Training")]
    [TestCase("MLNetLora.Models")]
    [TestCase("MLNetLora.ML")]
    [TestCase("MLNetLora.LibTorch")]
    public void Sources_NameNoCliFlag(string project)
    {
        string root = Path.Combine(TestPaths.RepoRoot, "src", project);
        var offenders = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                     && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: Path.GetRelativePath(root, f), Line: i + 1, Text: line)))
            .Where(l => Flag().IsMatch(l.Text))
            .Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}")
            .ToList();
        Assert.That(Directory.Exists(root), Is.True, root);
        Assert.That(offenders, Is.Empty, "name the property instead; the CLI translates it to its flag");
    }

    // A double dash followed by a lower-case word, as in --lr or --max-length.
    [GeneratedRegex(@"(?<![\w-])--[a-z][a-z0-9-]*")]
    private static partial Regex Flag();
}
