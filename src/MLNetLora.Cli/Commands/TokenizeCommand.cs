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
        [ModelArguments.ModelDir, new PositionalSpec("TEXT", "The text to tokenize (quote it; put -- before text that starts with a dash)")],
        [
            new OptionSpec("no-special", null, "Do not add the special tokens the tokenizer adds around a text (such as BOS)"),
            new OptionSpec("json", null, "Print {\"ids\": [...], \"tokens\": [...]} instead of text"),
        ]);

    /// <inheritdoc/>
    public int Execute(ParsedArguments args, CliContext context)
    {
        // Only the tokenizer is needed, so a tokenizer-only folder will do and libtorch is never loaded.
        string dir = ModelArguments.RequireExistingModelFolder(args.Positional(ModelArguments.ModelDir.Name));
        var tokenizer = HfTokenizer.Load(dir);
        int[] ids = tokenizer.Encode(args.Positional("TEXT"), addSpecialTokens: !args.Has("no-special"));
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
}
