using System.Diagnostics;
using MLNetLora.Training.Engine;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// <c>mlnetlora train MODEL_DIR --data FILE --output DIR [...]</c>: trains LoRA adapters (and, for
/// classification, a score head) with live progress, evaluation, checkpoints and Ctrl+C handling, then
/// writes the adapter, metrics, chart and a summary.
/// </summary>
public sealed class TrainCommand : ICliCommand
{
    /// <summary>Exit code of a run stopped by Ctrl+C (128 + SIGINT, as shells report it); the checkpoint is written.</summary>
    public const int CancelledExitCode = 130;

    private readonly CancellationToken outerCancellation;

    /// <summary>Creates the command; Ctrl+C is its only way to be cancelled.</summary>
    public TrainCommand()
    {
    }

    /// <summary>Creates the command with another way to cancel it, for hosts that run the tool in-process.</summary>
    /// <param name="cancellation">Cancelled like Ctrl+C: the run stops after its current step and writes a checkpoint.</param>
    public TrainCommand(CancellationToken cancellation) => outerCancellation = cancellation;

    /// <inheritdoc/>
    public string Name => "train";

    /// <inheritdoc/>
    public string Summary => "Train a LoRA/QLoRA adapter or fine-tune every weight (causal LM or classification) with live progress, evaluation and checkpoints";

    /// <inheritdoc/>
    public CommandSyntax Syntax { get; } = new(
        [ModelArguments.ModelDir],
        Grouped([.. TrainingArguments.Data, .. TrainSettings.Specs, .. TrainingArguments.Method, .. TrainingArguments.Lora, .. TrainingArguments.Runtime]));

    // train has over 40 options; help lists them by topic, in this order.
    private static readonly (string Group, string[] Names)[] Groups =
    [
        ("Data", ["data", "task", "max-length", "text-fields", "label-field", "max-rows", "use-chat-template", "chat-template", "packing", "eval-data", "eval-split"]),
        ("Output and checkpoints", ["output", "resume", "override-lr", "checkpoint-every", "keep-checkpoints", "metrics", "chart", "csv", "log-every"]),
        ("Learning rate and schedule", ["lr", "scheduler", "warmup-steps", "warmup-ratio", "num-cycles", "min-lr-ratio", "decay-steps"]),
        ("Length and batching", ["epochs", "max-steps", "batch-size", "grad-accum"]),
        ("Optimizer and watchdog", ["max-grad-norm", "weight-decay", "watchdog"]),
        ("Evaluation", ["eval-every", "early-stopping"]),
        ("Method", ["method", "freeze-layers", "freeze-embeddings", "no-double-quant"]),
        ("LoRA", ["lora-r", "lora-alpha", "lora-dropout", "target-modules", "use-rslora", "dora", "lora-plus-ratio", "init-adapter"]),
        ("Runtime", ["seed", "no-shuffle", "device", "precision", "gradient-checkpointing"]),
    ];

    private static OptionSpec[] Grouped(OptionSpec[] specs)
    {
        var groupOf = Groups.SelectMany((g, i) => g.Names.Select(n => (n, i))).ToDictionary(p => p.n, p => p.i);
        return specs.OrderBy(o => groupOf.GetValueOrDefault(o.Name, Groups.Length)).ThenBy(o => Array.IndexOf(specs, o))
            .Select(o => o with { Group = groupOf.TryGetValue(o.Name, out int i) ? Groups[i].Group : "Other" }).ToArray();
    }

    /// <inheritdoc/>
    public int Execute(ParsedArguments args, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        var common = TrainingArguments.Parse(args);
        var settings = TrainSettings.Parse(args, common);
        var console = new TrainingConsole(context, settings.LogEvery);
        bool classify = common.Task == TrainingTask.Classification;

        var o = settings.Trainer;
        using var session = TrainingSession.Open(common.ModelDir, o.Device, o.ModelDType, settings.ResumeLora ?? o.Lora, common.InitAdapter);
        var known = classify ? ResumedClassNames(settings) ?? session.ConfigClassNames() : null;
        var data = TrainingData.Load(common, session.Tokenizer, settings.EvalData, o.EvalSplit, o.Seed, known);
        // What the trainer will count: the rows, or the packed blocks with --packing.
        int trainCount = o.TrainingSet(data.Train, session.Tokenizer.EosId).Count;
        if (trainCount == 0)
            throw new UsageException($"--packing leaves no block of --max-length {o.MaxLength} tokens from {data.Train.Count} examples; lower --max-length or drop --packing.");
        if (settings.ResumeState is { } state && state.TrainExamples != trainCount)
            throw new UsageException($"The checkpoint was trained on {state.TrainExamples} examples but this command gives {trainCount}; " +
                "resume with the same --data, --max-length, --max-rows, --eval-split and --seed.");

        o.ResolveSchedule(o.PlannedSteps(trainCount));          // the trainer's own check, before any work; CliApp shows its error with the flags
        var options = o with { Log = console.Log };
        Directory.CreateDirectory(settings.Output);
        string? labelsPath = null;
        if (classify)
        {
            labelsPath = Path.Combine(settings.Output, TrainingData.LabelsFileName);
            TrainingData.WriteLabels(labelsPath, data.ClassNames);
        }
        using var trainer = session.CreateTrainer(options, classify ? data.ClassNames.Count : 0);
        WritePlan(context.Out, session, data, trainCount, options, settings, labelsPath);

        bool fresh = settings.ResumeState is null;
        EvaluationResult? before = null;
        if (fresh && data.Eval is { Count: > 0 } eval)
        {
            before = trainer.Evaluate(eval);
            TrainingReport.AppendEval(options.MetricsFile, before);
            console.Log("eval before training: " + TrainingReport.DescribeEval(before));
        }

        var clock = Stopwatch.StartNew();
        TrainingResult result;
        int cancelledExitCode;
        using (var cancel = new StopSignals(context.Error, "Stopping after this step and writing a checkpoint...", outerCancellation))
        {
            result = console.Run(progress => trainer.Train(data.Train, data.Eval, progress, cancel.Token));
            cancelledExitCode = cancel.ExitCode;
        }
        clock.Stop();

        TrainingReport.WriteSummary(context.Out, result, before, clock.Elapsed);
        var files = new List<(string, string)>();
        bool full = o.Method == Training.Defaults.FineTuneMethod.Full;
        if (result.Steps > 0) files.Add((full ? "model" : "adapter", Path.Combine(settings.Output, RunFolder.FinalFolder(o.Method))));
        string best = Path.Combine(settings.Output, RunFolder.BestFolder(o.Method));
        if (result.BestEvalLoss is not null && Directory.Exists(best)) files.Add((full ? "best model" : "best adapter", best));
        if (result.LastCheckpoint is not null) files.Add(("checkpoint", result.LastCheckpoint));
        files.AddRange(TrainingReport.WriteMetricsOutputs(options.MetricsFile!, settings.Chart, settings.Csv, context.Error, Path.GetFileName(common.DataPath)));
        if (labelsPath is not null) files.Add(("labels", labelsPath));
        TrainingReport.WriteRows(context.Out, files);

        if (result.Cancelled)
        {
            context.Out.WriteLine();
            context.Out.WriteLine($"Stopped at step {result.Steps}; the checkpoint holds everything needed to continue exactly. " +
                $"To continue, run the same command with --resume {settings.Output} added.");
            return cancelledExitCode;
        }
        if (result.StopReason is TrainingStopReason.WatchdogStop or TrainingStopReason.WriteFailed)
        {
            context.Error.WriteLine($"error: {CliOptionNames.Translate(result.StopMessage)}");
            return CliApp.FailureExitCode;
        }
        return CliApp.SuccessExitCode;
    }

    // A resumed head must keep its class order, whatever order the data would give now.
    private static IReadOnlyList<string>? ResumedClassNames(TrainSettings s)
    {
        if (s.ResumeCheckpoint is not string checkpoint) return null;
        string? runFolder = Path.GetDirectoryName(checkpoint);
        return (runFolder is null ? null : TrainingData.ReadLabels(Path.Combine(runFolder, TrainingData.LabelsFileName)))
            ?? TrainingData.ReadLabels(Path.Combine(s.Output, TrainingData.LabelsFileName));
    }

    private static void WritePlan(TextWriter w, TrainingSession session, TrainingData data, int trainCount, TrainerOptions o, TrainSettings s, string? labels)
    {
        var rows = new List<(string, string)>
        {
            ("model", $"{session.Pretrained.Directory} ({session.Describe()})"),
            ("data", data.Description),
            ("examples", $"{data.Train.Count} train" + (trainCount != data.Train.Count ? $" (packed into {trainCount} blocks)" : "") +
                (data.Eval is { } e ? $", {e.Count} eval" : ", no evaluation")),
        };
        if (labels is not null)
            rows.Add(("classes", string.Join(", ", data.ClassNames.Select((n, i) => $"{i}={n}")) + $" (written to {labels})"));
        rows.Add(o.Method == Training.Defaults.FineTuneMethod.Full ? ("weights", session.DescribeTrainedWeights(o)) : ("adapters", session.DescribeAdapters()));
        rows.Add(("plan", TrainingReport.Plan(o, trainCount)));
        if (s.ResumeState is { } st) rows.Add(("resume", $"from {s.ResumeCheckpoint} at step {st.Step}"));
        TrainingReport.WriteRows(w, rows);
        w.WriteLine();
    }
}
