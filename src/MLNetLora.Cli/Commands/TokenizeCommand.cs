using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using MLNetLora.Models.Tokenization;

namespace MLNetLora.Cli.Commands;

/// <summary><c>mlnetlora tokenize MODEL_DIR TEXT [--no-special] [--json]</c>: the ids the model's tokenizer gives a text, and their token strings.</summary>
public sealed class TokenizeCommand : ICliCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <inheritdoc/>
    public string Name => "tokenize";

    /// <inheritdoc/>
    public string Summary => "Show the token ids and token strings of a text";

    /// <inheritdoc/>
    public CommandSyntax Syntax { get; } = new(
        [ModelArguments.ModelDir, new PositionalSpec("TEXT", "The text to tokenize (quote it; put -- before text that starts with a dash); or use --input", Optional: true)],
        [
            new OptionSpec("no-special", null, "Do not add the special tokens the tokenizer adds around a text (such as BOS)"),
            new OptionSpec("json", null, "Print {\"ids\": [...], \"tokens\": [...]} instead of text"),
            new OptionSpec("input", "FILE", "Tokenize every text of FILE instead of TEXT: one text per line, or the \"text\" field of each JSONL line (.jsonl); prints one JSON line of ids per text and the totals on stderr"),
            new OptionSpec("tokens", null, "With --input: add the token strings to each line"),
        ]);

    /// <inheritdoc/>
    public int Execute(ParsedArguments args, CliContext context)
    {
        // Only the tokenizer is needed, so a tokenizer-only folder will do and libtorch is never loaded.
        string dir = ModelArguments.RequireExistingModelFolder(args.Positional(ModelArguments.ModelDir.Name));
        string? text = args.PositionalOrNull("TEXT");
        string? input = args.Option("input");
        if ((text is null) == (input is null))
            throw new UsageException("Give the text to tokenize as TEXT or as --input FILE (one of them).");
        if (args.Has("tokens") && input is null) throw new UsageException("--tokens adds token strings to --input's lines; use --json for a single TEXT.");
        if (input is not null && !File.Exists(input)) throw new UsageException($"--input '{Path.GetFullPath(input)}' does not exist.");
        var tokenizer = HfTokenizer.Load(dir);
        if (input is not null) return TokenizeFile(tokenizer, input, !args.Has("no-special"), args.Has("tokens"), context);
        int[] ids = tokenizer.Encode(text!, addSpecialTokens: !args.Has("no-special"));
        string[] tokens = ids.Select(id => tokenizer.IdToToken(id) ?? "?").ToArray();
        if (args.Has("json"))
        {
            context.Out.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { ["ids"] = ids, ["tokens"] = tokens }, JsonOptions));
            return CliApp.SuccessExitCode;
        }
        context.Out.WriteLine($"{ids.Length} tokens");
        context.Out.WriteLine("ids: " + string.Join(" ", ids.Select(i => i.ToString(CultureInfo.InvariantCulture))));
        int idWidth = ids.Length == 0 ? 2 : Math.Max(2, ids.Max().ToString(CultureInfo.InvariantCulture).Length);
        int posWidth = Math.Max(1, (ids.Length - 1).ToString(CultureInfo.InvariantCulture).Length);
        context.Out.WriteLine($"{"#".PadLeft(posWidth)}  {"id".PadLeft(idWidth)}  token");
        for (int i = 0; i < ids.Length; i++)
            context.Out.WriteLine($"{i.ToString(CultureInfo.InvariantCulture).PadLeft(posWidth)}  {ids[i].ToString(CultureInfo.InvariantCulture).PadLeft(idWidth)}  {tokens[i]}");
        return CliApp.SuccessExitCode;
    }

    // One process for thousands of texts: how a dataset is counted and how parity runs go over many probes.
    private static int TokenizeFile(HfTokenizer tokenizer, string path, bool special, bool withTokens, CliContext context)
    {
        bool jsonl = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);
        long texts = 0, total = 0;
        int lineNo = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNo++;
            string text = line;
            if (jsonl)
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    text = doc.RootElement.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()!
                        : throw new UsageException($"--input line {lineNo} has no \"text\" string field.");
                }
                catch (JsonException e)
                {
                    throw new UsageException($"--input line {lineNo} is not a JSON object ({e.Message}).");
                }
            }
            int[] ids = tokenizer.Encode(text, special);
            var row = new Dictionary<string, object> { ["ids"] = ids };
            if (withTokens) row["tokens"] = ids.Select(id => tokenizer.IdToToken(id) ?? "?").ToArray();
            context.Out.WriteLine(JsonSerializer.Serialize(row, JsonOptions));
            texts++;
            total += ids.Length;
        }
        context.Error.WriteLine($"{texts} texts, {total} tokens");
        return CliApp.SuccessExitCode;
    }
}
