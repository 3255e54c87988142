using System.Globalization;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;
using MLNetLora.Training.Engine;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// <c>mlnetlora predict MODEL_DIR --adapter DIR (--text TEXT | --input FILE)</c>: the class a
/// classification adapter gives each text, with its probabilities. Class names come from the
/// labels.json that <c>train</c> writes beside the adapter's run (else the class indices).
/// </summary>
public sealed class PredictCommand : ICliCommand
{
    /// <inheritdoc/>
    public string Name => "predict";

    /// <inheritdoc/>
    public string Summary => "Classify texts with a classification adapter (its class and probabilities per text)";

    /// <inheritdoc/>
    public CommandSyntax Syntax { get; } = new(
        [ModelArguments.ModelDir],
        [
            new OptionSpec("adapter", "DIR", "Classification adapter folder (train --task classification writes OUTPUT/adapter)", Required: true),
            new OptionSpec("text", "TEXT", "One text to classify"),
            new OptionSpec("input", "FILE", "Classify every line of FILE instead (one text per line)"),
            new OptionSpec("max-length", "N", "Longest text in tokens; longer texts keep their start (default 512)"),
            new OptionSpec("device", "DEVICE", "cpu (default), cuda or cuda:N"),
        ]);

    /// <inheritdoc/>
    public int Execute(ParsedArguments args, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        string modelDir = ModelArguments.RequireModelFolder(args.Positional(ModelArguments.ModelDir.Name));
        string adapter = ModelArguments.RequireAdapterFolder(args.Required("adapter"));
        string? text = args.Option("text"), input = args.Option("input");
        if ((text is null) == (input is null)) throw new UsageException("Give the texts as --text TEXT or as --input FILE (one of them).");
        if (input is not null && !File.Exists(input)) throw new UsageException($"--input '{Path.GetFullPath(input)}' does not exist.");
        if (!PeftAdapterIO.ReadConfig(adapter).ModulesToSave.Contains("score"))
            throw new UsageException($"'{adapter}' has no classification head (modules_to_save has no score); it is a causal-LM adapter: use 'mlnetlora generate'.");
        int maxLength = OptionValues.Int(args, "max-length", 2, 1 << 20) ?? 512;
        var texts = text is not null ? [text] : File.ReadAllLines(input!).Where(l => l.Length > 0).ToArray();

        using var pm = PretrainedModel.Load(modelDir, ModelArguments.ParseDevice(args.Option("device")));
        var tokenizer = pm.Tokenizer ?? throw new UsageException($"'{modelDir}' has no tokenizer.json or tokenizer.model.");
        PeftAdapterIO.Load(pm.Model, adapter);
        int classes = pm.Model.ScoreHead!.NumLabels;
        var names = Labels(adapter, classes);
        var probabilities = ModelEvaluation.ClassProbabilities(pm.Model, texts.Select(t => Truncate(tokenizer.Encode(t), maxLength)).ToArray(),
            batchSize: 8, pm.PaddingId, maxLength);
        for (int r = 0; r < texts.Length; r++)
        {
            var row = probabilities[r];
            int best = Array.IndexOf(row, row.Max());
            string all = string.Join(", ", row.Select((v, i) => $"{names[i]} {v.ToString("0.000", CultureInfo.InvariantCulture)}"));
            context.Out.WriteLine($"{names[best]}\t{all}\t{(texts[r].Length > 60 ? texts[r][..60] + "…" : texts[r])}");
        }
        return CliApp.SuccessExitCode;
    }

    private static int[] Truncate(int[] ids, int max) => ids.Length <= max ? ids : ids[..max];

    // train writes labels.json into the run folder, the adapter's parent.
    private static IReadOnlyList<string> Labels(string adapter, int classes)
    {
        foreach (string dir in new[] { adapter, Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(adapter)) }.OfType<string>())
            if (TrainingData.ReadLabels(Path.Combine(dir, TrainingData.LabelsFileName)) is { } names && names.Count == classes) return names;
        return Enumerable.Range(0, classes).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
    }
}
