using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MLNetLora.Tests.Docs;

/// <summary>
/// Every <c>```csharp</c> block in README.md, docs/, samples/README.md and the packages' READMEs compiles against the
/// libraries as built. A block whose prose assumes something (a data view, a model) says so in a
/// <c>&lt;!-- given: IDataView data = null!; --&gt;</c> comment above it, which readers of the rendered page do not see.
/// </summary>
public class DocSnippetTests
{
    private static IEnumerable<string> MarkdownFiles()
    {
        string root = TestPaths.RepoRoot;
        yield return Path.Combine(root, "README.md");
        yield return Path.Combine(root, "samples", "README.md");
        foreach (string f in Directory.GetFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal)) yield return f;
        foreach (string f in Directory.GetFiles(Path.Combine(root, "src"), "README.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal)) yield return f;
    }

    [Test]
    public void Snippets_AllDocs_Compile()
    {
        var snippets = MarkdownFiles().SelectMany(f => DocSnippets.Extract(TestPaths.RepoRoot, f)).ToList();
        Assert.That(snippets, Has.Count.GreaterThan(10), "the docs' C# blocks were found");
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = snippets.Select((s, i) => DocSnippets.ToSyntaxTree(s, i, parse)).ToList();
        var compilation = CSharpCompilation.Create("DocSnippets", trees, References(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: false));
        using var pe = new MemoryStream();
        var emit = compilation.Emit(pe);
        var errors = emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        Assert.That(errors, Is.Empty, $"{errors.Count} errors in {snippets.Count} snippets:\n" + string.Join('\n', errors));
    }

    [Test]
    public void Extract_GivenCommentAndLines_AreRead()
    {
        string md = Path.Combine(TestPaths.NewTempDir(), "x.md");
        File.WriteAllText(md, "text\n\n<!-- given: int n = 3; -->\n```csharp\nConsole.WriteLine(n);\n```\n\n```text\nnot code\n```\n```csharp\nint k = 1;\n```\n");
        var s = DocSnippets.Extract(Path.GetDirectoryName(md)!, md).ToList();
        Assert.That(s, Has.Count.EqualTo(2));
        Assert.That(s[0], Is.EqualTo(new DocSnippet("x.md", 5, "Console.WriteLine(n);", "int n = 3;")));
        Assert.That(s[1].Given, Is.Null);
        Assert.That(s[1].Line, Is.EqualTo(12));
    }

    [Test]
    public void ToSyntaxTree_BrokenSnippet_ErrorPointsAtTheMarkdownLine()
    {
        var snippet = new DocSnippet("docs/x.md", 40, "using MLNetLora.ML;\nvar a = 1;\nint b = \"text\";\npublic class Row { public string A { get; set; } = \"\"; }", null);
        var tree = DocSnippets.ToSyntaxTree(snippet, 0, new CSharpParseOptions(LanguageVersion.Latest));
        var errors = CSharpCompilation.Create("x", [tree], References(), new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary))
            .GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.That(errors, Has.Count.EqualTo(1));
        var span = errors[0].Location.GetMappedLineSpan();
        Assert.That((span.Path, span.StartLinePosition.Line + 1), Is.EqualTo(("docs/x.md", 42)));
    }

    private static List<MetadataReference> References()
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).ToHashSet(StringComparer.Ordinal);
        foreach (string dll in Directory.GetFiles(AppContext.BaseDirectory, "*.dll"))
            if (!paths.Any(p => Path.GetFileName(p) == Path.GetFileName(dll))) paths.Add(dll);
        var refs = new List<MetadataReference>();
        foreach (string p in paths)
        {
            try { refs.Add(MetadataReference.CreateFromFile(p)); }
            catch (BadImageFormatException) { }   // native libraries beside the managed ones
        }
        return refs;
    }
}
