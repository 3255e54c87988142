using MLNetLora.LibTorch;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// <c>mlnetlora inspect MODEL_DIR [--json] [--nf4]</c>: a model folder's architecture, sizes, parameter
/// count and tokenizer, without loading weights; with <c>--nf4</c> it also loads the model, quantizes it
/// as QLoRA does and reports the memory against bfloat16 and the logits error against the unquantized model.
/// </summary>
public sealed class InspectCommand : ICliCommand
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // The output goes to terminals and scripts, not HTML, so tokens like <|eos|> stay readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <inheritdoc/>
    public string Name => "inspect";

    /// <inheritdoc/>
    public string Summary => "Show a model folder's architecture, sizes, parameter count and tokenizer (no weights are loaded); --nf4 reports QLoRA's memory and error";

    /// <inheritdoc/>
    public CommandSyntax Syntax { get; } = new(
        [ModelArguments.ModelDir],
        [
            new OptionSpec("json", null, "Print JSON (snake_case keys, as in config.json) instead of a table"),
            new OptionSpec("nf4", null, "Also load the model, quantize it to NF4 as --method qlora does, and report memory vs bf16 and the logits error"),
            new OptionSpec("text", "TEXT", "With --nf4: the text whose logits are compared (default: the first lines of Moby-Dick)"),
            new OptionSpec("no-double-quant", null, "With --nf4: keep the block scales in float32"),
        ]);

    private const string ProbeText = "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, " +
        "and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.";

    /// <inheritdoc/>
    public int Execute(ParsedArguments args, CliContext context)
    {
        string dir = ModelArguments.RequireModelFolder(args.Positional(ModelArguments.ModelDir.Name));
        var summary = ModelSummary.Read(dir);
        if (args.Has("json"))
            context.Out.WriteLine(JsonSerializer.Serialize(summary, JsonOptions));
        else
            context.Console.Write(BuildTable(summary));
        if (args.Has("nf4")) WriteQuantizationReport(dir, args.Option("text") ?? ProbeText, !args.Has("no-double-quant"), context.Out);
        else if (args.Has("text") || args.Has("no-double-quant"))
            throw new UsageException($"--{(args.Has("text") ? "text" : "no-double-quant")} only applies with --nf4; add --nf4 or drop it.");
        return CliApp.SuccessExitCode;
    }

    private static void WriteQuantizationReport(string dir, string text, bool doubleQuant, TextWriter w)
    {
        using var pretrained = Models.Hub.PretrainedModel.Load(dir);
        int[] tokens = pretrained.RequireTokenizer().Encode(text);
        if (tokens.Length == 0) throw new UsageException("--text has no tokens; give some text to compare the logits on.");
        using var ids = Tensor.FromArray(tokens.Select(t => (long)t).ToArray(), 1, tokens.Length);
        var report = Models.Quantization.QuantizationReport.Measure(pretrained.Model, ids, doubleQuant);
        w.WriteLine();
        w.WriteLine($"{report} ({tokens.Length} tokens, {pretrained.Model.ComputeDType} on {pretrained.Model.Device})");
    }

    private static Table BuildTable(ModelSummary s)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("property").AddColumn("value");
        table.Title = new TableTitle(s.Directory);
        void Row(string key, string value) => table.AddRow(new Text(key), new Text(value));
        Row("model type", s.ModelType);
        Row("architectures", s.Architectures.Count == 0 ? "(not given)" : string.Join(", ", s.Architectures));
        Row("layers", Num(s.NumHiddenLayers));
        Row("hidden size", Num(s.HiddenSize));
        Row("attention heads", $"{s.NumAttentionHeads} query, {s.NumKeyValueHeads} key/value");
        Row("head dim", Num(s.HeadDim));
        Row("intermediate size", Num(s.IntermediateSize));
        Row("vocab size", Num(s.VocabSize));
        Row("rope", $"{s.Rope.Type}, theta {s.Rope.Theta.ToString(CultureInfo.InvariantCulture)}"
            + (s.Rope.Factor is double f ? $", factor {f.ToString(CultureInfo.InvariantCulture)}" : ""));
        Row("tied embeddings", s.TieWordEmbeddings ? "yes" : "no");
        Row("max positions", Num(s.MaxPositionEmbeddings));
        Row("parameters", $"{Num(s.ParameterCount)} ({Short(s.ParameterCount)})");
        Row("stored dtypes", string.Join(", ", s.StoredDtypes.Select(kv => $"{kv.Key} {Short(kv.Value)}")));
        Row("config dtype", s.ConfigDtype ?? "(not given)");
        Row("weight files", string.Join(", ", s.WeightFiles));
        AddTokenizerRows(s.Tokenizer, Row);
        Row("libtorch", LibTorchLine());
        return table;
    }

    // Where the tensors of every other command would come from: the first question of a GPU setup.
    private static string LibTorchLine()
    {
        try
        {
            var info = Torch.Info;
            return $"{info.Version} from {info.Directory}; CUDA: {info.CudaStatus}";
        }
        catch (LibTorchNotFoundException e)
        {
            return "not found: " + e.Message.Split('\n')[^1];
        }
    }

    private static void AddTokenizerRows(TokenizerSummary? t, Action<string, string> row)
    {
        if (t is null)
        {
            row("tokenizer", "none (no tokenizer.json or tokenizer.model)");
            return;
        }
        if (t.Error is not null)
        {
            row("tokenizer", $"{t.Kind}: cannot be read: {t.Error}");
            return;
        }
        row("tokenizer", $"{t.Kind}, {Num(t.VocabSize)} ids");
        foreach (var (name, token) in new[] { ("bos", t.Bos), ("eos", t.Eos), ("pad", t.Pad), ("unk", t.Unk) })
            row($"{name} token", token is null ? "(none)" : Token(token));
        row("special tokens", t.SpecialTokens.Count == 0 ? "(none)" : string.Join(" ", t.SpecialTokens.Select(Token)));
    }

    private static string Token(TokenSummary t) => $"{t.Token ?? "?"} ({t.Id})";

    private static string Num(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Short(long n) => n switch
    {
        >= 1_000_000_000 => (n / 1e9).ToString("0.##", CultureInfo.InvariantCulture) + "B",
        >= 1_000_000 => (n / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M",
        >= 1_000 => (n / 1e3).ToString("0.##", CultureInfo.InvariantCulture) + "K",
        _ => n.ToString(CultureInfo.InvariantCulture),
    };
}
