using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MLNetLora.Tests.Docs;

/// <summary>One fenced <c>csharp</c> block of a Markdown file.</summary>
/// <param name="File">The Markdown file, relative to the repository root.</param>
/// <param name="Line">The 1-based line of the block's first code line.</param>
/// <param name="Code">The block's text.</param>
/// <param name="Given">Declarations from a <c>&lt;!-- given: ... --&gt;</c> comment just above the block: what the
/// surrounding prose assumes exists (a data view, a path), compiled before the block's statements.</param>
internal sealed record DocSnippet(string File, int Line, string Code, string? Given);

/// <summary>
/// Turns documentation snippets into compilable C#: a block's statements become the body of an async method, its
/// types and using directives stay at file level, and <c>#line</c> directives map every error back to the Markdown line.
/// </summary>
internal static partial class DocSnippets
{
    private const string ImplicitUsings = "using System; using System.Collections.Generic; using System.IO; using System.Linq; using System.Threading; using System.Threading.Tasks;\n";

    [GeneratedRegex(@"^<!--\s*given:\s*(?<decl>.*?)\s*-->\s*$")]
    private static partial Regex GivenComment();

    /// <summary>Every <c>```csharp</c> block of <paramref name="markdownPath"/>.</summary>
    public static IEnumerable<DocSnippet> Extract(string repoRoot, string markdownPath)
    {
        string[] lines = System.IO.File.ReadAllLines(markdownPath);
        string rel = Path.GetRelativePath(repoRoot, markdownPath).Replace('\\', '/');
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() is not ("```csharp" or "```cs" or "```c#")) continue;
            string? given = null;
            for (int j = i - 1; j >= 0 && j >= i - 3; j--)
            {
                var m = GivenComment().Match(lines[j].Trim());
                if (m.Success) { given = m.Groups["decl"].Value; break; }
                if (lines[j].Trim().Length > 0) break;
            }
            int start = i + 1, end = start;
            while (end < lines.Length && lines[end].Trim() != "```") end++;
            yield return new DocSnippet(rel, start + 1, string.Join('\n', lines[start..end]), given);
            i = end;
        }
    }

    /// <summary>The snippet as a C# file of its own, in namespace <c>Snippet{index}</c>.</summary>
    public static SyntaxTree ToSyntaxTree(DocSnippet snippet, int index, CSharpParseOptions options)
    {
        var unit = CSharpSyntaxTree.ParseText(snippet.Code, options).GetCompilationUnitRoot();
        var file = new StringBuilder(ImplicitUsings);
        foreach (var u in unit.Usings) file.Append(Line(snippet, u)).Append(u.ToFullString().Trim()).Append('\n');
        if (unit.Members.Any(m => m is BaseNamespaceDeclarationSyntax))
        {
            // A whole file (its own namespace): compiled as written.
            foreach (var m in unit.Members) file.Append(Line(snippet, m)).Append(m.ToFullString()).Append('\n');
            return CSharpSyntaxTree.ParseText(file.ToString(), options, path: snippet.File);
        }
        file.Append($"namespace Snippet{index}\n{{\n#line hidden\ninternal static class Body\n{{\n    internal static async Task Run()\n    {{\n        await Task.CompletedTask;\n");
        if (snippet.Given is string given) file.Append($"#line {snippet.Line - 2} \"{snippet.File}\"\n").Append(given).Append('\n');
        foreach (var s in unit.Members.OfType<GlobalStatementSyntax>()) file.Append(Line(snippet, s)).Append(s.ToFullString()).Append('\n');
        file.Append("#line hidden\n    }\n}\n");
        foreach (var m in unit.Members.Where(m => m is not GlobalStatementSyntax)) file.Append(Line(snippet, m)).Append(m.ToFullString()).Append('\n');
        file.Append("}\n");
        return CSharpSyntaxTree.ParseText(file.ToString(), options, path: snippet.File);
    }

    private static string Line(DocSnippet snippet, SyntaxNode node) =>
        $"#line {snippet.Line + node.GetLocation().GetLineSpan().StartLinePosition.Line} \"{snippet.File}\"\n";
}
