using System.Diagnostics;
using MLNetLora.Models.Lora;
using MLNetLora.Training.Data;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// <c>mlnetlora demo [--model DIR] [--output DIR] [--steps N]</c>: the whole job on an embedded default.
/// Builds a tiny Llama with seeded random weights (or takes <c>--model</c>), trains LoRA as a causal LM
/// on chapters of Moby-Dick that ship inside the tool, and reports the validation loss before and after,
/// the rate schedule, and the adapter, metrics and chart it wrote. Needs no files outside the tool.
/// </summary>
public sealed class DemoCommand : ICliCommand
{
    /// <summary>Default optimizer steps: enough for the loss to fall clearly, about a minute on two CPU cores.</summary>
    public const int DefaultSteps = 200;

    /// <summary>Name of the default output folder, under the system temp folder.</summary>
    public const string DefaultOutputName = "mlnetlora-demo";

    /// <summary>Tokens per training block.</summary>
    public const int BlockSize = 128;

    /// <summary>Sequences per optimizer step.</summary>
    public const int BatchSize = 8;

    /// <summary>Share of the blocks, taken from the end of the text, held out for validation.</summary>
    public const double ValidationFraction = 0.1;

    /// <summary>Peak rate for the built-in random-weight model (see <see cref="RateReason"/>).</summary>
    public const double BuiltInModelRate = 3e-3;

    private static readonly string RateReason =
        $"The built-in model uses {RateText.Format(BuiltInModelRate)}, {BuiltInModelRate / 2e-4:0}x the LoRA default of 2e-4, because its base " +
        "weights are random: the adapters are not nudging a pretrained model but learning the statistics of English from scratch " +
        $"in {DefaultSteps} steps, and the matrices of a model with under a million weights tolerate far larger steps than those of a 7B one. " +
        "On a pretrained model keep 2e-4 (mlnetlora train picks it and explains the choice) or measure with mlnetlora lr-find.";

    /// <inheritdoc/>
    public string Name => "demo";

    /// <inheritdoc/>
    public string Summary => "Fine-tune a built-in tiny Llama on Moby-Dick and show the validation loss fall (no downloads)";

    /// <inheritdoc/>
    public CommandSyntax Syntax { get; } = new(
        [],
        [
            new OptionSpec("model", "DIR", "Train this Hugging Face model instead of the built-in tiny Llama (its tokenizer reads the text)"),
            new OptionSpec("output", "DIR", $"Folder for the base model, adapter, metrics and chart (default: {DefaultOutputName} in the temp folder)"),
            new OptionSpec("steps", "N", $"Optimizer steps (default {DefaultSteps})"),
            new OptionSpec("lr", "RATE", $"Peak learning rate (default {RateText.Format(BuiltInModelRate)} for the built-in model, else LoRA's 2e-4)"),
            ModelArguments.Device,
        ]);

    /// <inheritdoc/>
    public int Execute(ParsedArguments args, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        string? userModel = args.Option("model") is string m ? ModelArguments.RequireModelFolder(m) : null;
        // The temp folder by default, so running the README's command leaves nothing in the checkout.
        string output = Path.GetFullPath(args.Option("output") ?? Path.Combine(Path.GetTempPath(), DefaultOutputName));
        if (File.Exists(output)) throw new UsageException($"--output '{output}' is a file; pass a folder for the demo's files.");
        int steps = OptionValues.Int(args, "steps", 1, 1_000_000) ?? DefaultSteps;
        double? lr = OptionValues.Double(args, "lr", 0, 1, minExclusive: true) ?? (userModel is null ? BuiltInModelRate : null);
        var device = ModelArguments.ParseDevice(args.Option("device"));
        var clock = Stopwatch.StartNew();
        var w = context.Out;

        ClearEarlierRun(output, includeBaseModel: userModel is null);
        string modelDir = userModel ?? BuildBaseModel(Path.Combine(output, "base-model"), w);
        var console = new TrainingConsole(context, logEvery: null);
        using var session = TrainingSession.Open(modelDir, device, null, new LoraSettings { Rank = 8, Alpha = 16, TargetModules = LoraSettings.AllLinear }, null);
        var (train, validation, tokens) = Blocks(session);
        w.WriteLine($"text        {DemoResources.TextTitle}: {tokens:N0} tokens in blocks of {BlockSize}, " +
                    $"{train.Count} for training, the last {validation.Count} held out for validation");

        var options = new TrainerOptions
        {
            LearningRate = lr, Scheduler = ScheduleKind.Cosine, WarmupRatio = 0.05, MaxSteps = steps, BatchSize = BatchSize,
            MaxLength = BlockSize, EvalEvery = Math.Max(1, steps / 4), OutputDirectory = output, Seed = TrainingDefaults.Seed,
            MetricsFile = Path.Combine(output, RunFolder.MetricsFileName), BaseModelNameOrPath = modelDir, Log = console.Log,
            Lora = session.Lora,
        };
        using var trainer = session.CreateTrainer(options);
        w.WriteLine($"adapters    {session.DescribeAdapters()}");
        w.WriteLine($"plan        {TrainingReport.Plan(options, train.Count)}");
        w.WriteLine(lr is double rate && userModel is null ? $"rate        {RateReason}" : $"rate        {(lr is double r ? RateText.Format(r) + " (--lr)" : "LoRA default, adjusted for the batch (see the log)")}");
        w.WriteLine();

        var before = trainer.Evaluate(validation);
        TrainingReport.AppendEval(options.MetricsFile, before);
        w.WriteLine($"validation before training: {TrainingReport.DescribeEval(before)}");
        TrainingResult result;
        using (var cancel = new StopSignals(context.Error, "Stopping after this step and writing a checkpoint..."))
            result = console.Run(progress => trainer.Train(train, validation, progress, cancel.Token));

        var after = result.Evaluations.Count > 0 ? result.Evaluations[^1] : before;
        TrainingReport.WriteSummary(w, result, before, clock.Elapsed);
        WriteSchedule(w, trainer, result.Steps);
        var files = new List<(string, string)> { ("base model", modelDir), ("adapter", Path.Combine(output, RunFolder.AdapterFolder)) };
        files.AddRange(TrainingReport.WriteMetricsOutputs(options.MetricsFile, Path.Combine(output, "curves.png"), null, context.Error));
        w.WriteLine();
        TrainingReport.WriteRows(w, files);
        w.WriteLine();
        w.WriteLine($"Next: mlnetlora inspect {modelDir}");
        w.WriteLine($"      mlnetlora merge {modelDir} --adapter {Path.Combine(output, RunFolder.AdapterFolder)} --output {Path.Combine(output, "merged")}");
        if (result.Cancelled) return TrainCommand.CancelledExitCode;
        if (!(after.Loss < before.Loss))
        {
            context.Error.WriteLine($"error: the validation loss did not fall ({TrainingFormat.Loss(before.Loss)} → {TrainingFormat.Loss(after.Loss)}); " +
                "try more --steps or another --lr.");
            return CliApp.FailureExitCode;
        }
        w.WriteLine($"The validation loss fell from {TrainingFormat.Loss(before.Loss)} to {TrainingFormat.Loss(after.Loss)} in {TrainingFormat.Duration(clock.Elapsed)}.");
        if (userModel is null)
            w.WriteLine("(The built-in base model is random and its LM head stays frozen, so adapters alone get only part of the way; " +
                        "a pretrained model given with --model starts far lower.)");
        return CliApp.SuccessExitCode;
    }

    private static string BuildBaseModel(string dir, TextWriter w)
    {
        DemoResources.WriteTokenizer(dir);
        var tokenizer = Models.Tokenization.HfTokenizer.Load(dir);
        DemoModel.Write(dir, tokenizer.VocabSize, tokenizer.BosId, tokenizer.EosId, tokenizer.PadId);
        long parameters = DemoModel.ParameterCount(tokenizer.VocabSize);
        w.WriteLine($"base model  tiny Llama with random weights (seed {DemoModel.Seed}): hidden {DemoModel.HiddenSize}, {DemoModel.Layers} layers, " +
                    $"{DemoModel.Heads} heads / {DemoModel.KvHeads} kv heads, vocab {tokenizer.VocabSize}, {parameters:N0} parameters, written to {dir}");
        return dir;
    }

    // Contiguous blocks, validation from the end: the held-out text is text the adapters never saw.
    private static (List<TrainingExample> Train, List<TrainingExample> Validation, int Tokens) Blocks(TrainingSession session)
    {
        var ids = session.Tokenizer.Encode(DemoResources.ReadText(DemoResources.Text), addSpecialTokens: true);
        var blocks = Collator.Chunk(ids, BlockSize).Where(b => b.InputIds.Length == BlockSize).ToList();
        int held = Math.Max(1, (int)Math.Ceiling(blocks.Count * ValidationFraction));
        if (blocks.Count - held < 1)
            throw new UsageException($"The text gives only {blocks.Count} blocks of {BlockSize} tokens with this model's tokenizer; too few to train and validate.");
        return (blocks.GetRange(0, blocks.Count - held), blocks.GetRange(blocks.Count - held, held), ids.Length);
    }

    private static void WriteSchedule(TextWriter w, LoraTrainer trainer, long stepsRun)
    {
        var s = trainer.Schedule.Options;
        long total = s.TotalSteps, warmup = s.WarmupSteps ?? 0;
        w.WriteLine($"schedule    {ScheduleKindNames.ToName(s.Kind)}: peak {RateText.Format(s.LearningRate)}, linear warmup over {warmup} steps, " +
                    $"then a half cosine to 0 at step {total}");
        var points = new[] { 0, warmup, total / 4, total / 2, 3 * total / 4, total - 1 }.Where(p => p >= 0 && p < Math.Max(1, stepsRun)).Distinct().Order();
        w.WriteLine("rate at     " + string.Join(", ", points.Select(p => $"step {p + 1}: {RateText.Format(trainer.RateAt(p))}")));
    }

    // A rerun starts from scratch: checkpoints of an earlier run would otherwise be mixed into this one's files.
    private static void ClearEarlierRun(string output, bool includeBaseModel)
    {
        if (!Directory.Exists(output)) return;
        string[] named = includeBaseModel ? ["adapter", "best-adapter", "base-model"] : ["adapter", "best-adapter"];
        foreach (string d in Directory.GetDirectories(output, "checkpoint-*").Concat(named.Select(n => Path.Combine(output, n))))
            if (Directory.Exists(d)) Directory.Delete(d, recursive: true);
        foreach (string f in new[] { "metrics.jsonl", "curves.png" }.Select(n => Path.Combine(output, n)))
            if (File.Exists(f)) File.Delete(f);
    }
}
