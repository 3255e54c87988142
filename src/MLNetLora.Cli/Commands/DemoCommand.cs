using System.Diagnostics;
using Microsoft.ML;
using MLNetLora.Training.Data;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// <c>mlnetlora demo [--output DIR] [--quick]</c>: the main job on an embedded default, as ML.NET pipelines.
/// Part 1 LoRA-fine-tunes a spam classifier on 600 SpamAssassin e-mails and reports held-out accuracy
/// before and after; part 2 instruction-tunes the same base model on questions about Moby-Dick and shows
/// the same prompts' answers before and after, with the held-out perplexity. The base model is a tiny
/// Llama pretrained on Moby-Dick that ships inside the tool; nothing is downloaded.
/// </summary>
public sealed class DemoCommand : ICliCommand
{
    /// <summary>Name of the default output folder, under the current directory (a number is added when it holds an earlier run).</summary>
    public const string DefaultOutputName = "mlnetlora-demo";

    /// <inheritdoc/>
    public string Name => "demo";

    /// <inheritdoc/>
    public string Summary => "Fine-tune a built-in tiny Llama as an ML.NET spam classifier and a question answerer, showing before and after (no downloads)";

    /// <inheritdoc/>
    public CommandSyntax Syntax { get; } = new(
        [],
        [
            new OptionSpec("output", "DIR", $"Folder for the base model, models, adapters, metrics and charts (default: ./{DefaultOutputName}, or -2, -3... when taken)"),
            new OptionSpec("quick", null, "One short epoch per part (a smoke test; the results are not the point)"),
            ModelArguments.Device,
        ]);

    /// <inheritdoc/>
    public int Execute(ParsedArguments args, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        string output = args.Option("output") is string o ? RequireFresh(Path.GetFullPath(o)) : FreeDefaultFolder();
        bool quick = args.Has("quick");
        string? device = args.Option("device");
        ModelArguments.ParseDevice(device);
        var clock = Stopwatch.StartNew();
        var w = context.Out;
        Directory.CreateDirectory(output);

        string modelDir = Path.Combine(output, "base-model");
        DemoResources.WriteTokenizer(modelDir);
        var tokenizer = Models.Tokenization.HfTokenizer.Load(modelDir);
        DemoModel.Write(modelDir, tokenizer.VocabSize, tokenizer.BosId, tokenizer.EosId, tokenizer.PadId);
        w.WriteLine($"base model  tiny Llama pretrained on Moby-Dick (tools/demo-model): hidden {DemoModel.HiddenSize}, {DemoModel.Layers} layers, " +
                    $"{DemoModel.Heads} heads / {DemoModel.KvHeads} kv heads, vocab {tokenizer.VocabSize}, {DemoModel.ParameterCount(tokenizer.VocabSize):N0} parameters");
        w.WriteLine($"rate        {DemoRuns.RateReason}");

        var ml = new MLContext(seed: 1);
        var log = new DemoLog(context);
        ml.Log += log.OnLog;
        var files = new List<(string, string)> { ("base model", modelDir) };
        using (var cancel = new StopSignals(context.Error, "Stopping after this step..."))
        {
            var classification = DemoRuns.Classify(ml, modelDir, Path.Combine(output, "classifier"), quick, device, w, cancel.Token);
            files.AddRange(classification.Files);
            w.WriteLine();
            var generation = DemoRuns.Generate(ml, modelDir, Path.Combine(output, "questions"), quick, device, w, cancel.Token);
            files.AddRange(generation.Files);
            w.WriteLine();
            TrainingReport.WriteRows(w, files);
            w.WriteLine();
            w.WriteLine($"Held-out accuracy {classification.Before:P1} → {classification.After:P1}; held-out perplexity {generation.Before:F1} → {generation.After:F1}; " +
                        $"{TrainingFormat.Duration(clock.Elapsed)} in all.");
        }
        w.WriteLine($"Everything was written to {output}");
        return CliApp.SuccessExitCode;
    }

    private static string FreeDefaultFolder()
    {
        string root = Path.GetFullPath(DefaultOutputName);
        for (int n = 1; ; n++)
        {
            string candidate = n == 1 ? root : $"{root}-{n}";
            if (!Directory.Exists(candidate) || !Directory.EnumerateFileSystemEntries(candidate).Any()) return candidate;
        }
    }

    // An earlier run is never overwritten: a given folder must be new or empty.
    private static string RequireFresh(string output)
    {
        if (File.Exists(output)) throw new UsageException($"--output '{output}' is a file; pass a folder for the demo's files.");
        if (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any())
            throw new UsageException($"--output '{output}' already holds files (an earlier run?); pass a new or empty folder, or leave --output out to get a fresh ./{DefaultOutputName}-N.");
        return output;
    }
}
