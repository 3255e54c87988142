using MLNetLora.Models.Lora;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;
using MLNetLora.Training.Watchdog;

namespace MLNetLora.Cli.Commands;

/// <summary>The options only <c>train</c> has, checked, with the paths they imply.</summary>
public sealed record TrainSettings
{
    private static readonly Dictionary<string, WatchdogPolicy> Policies = new(StringComparer.OrdinalIgnoreCase)
    {
        ["skip"] = WatchdogPolicy.SkipUpdate,
        ["rollback"] = WatchdogPolicy.RollbackAndLowerRate,
        ["stop"] = WatchdogPolicy.Stop,
    };

    /// <summary>The options of <c>train</c> beyond <see cref="TrainingArguments"/>' shared ones.</summary>
    public static IReadOnlyList<OptionSpec> Specs { get; } =
    [
        new("output", "DIR", "Folder for the adapter, checkpoints, metrics and chart (created if needed)", Required: true),
        new("lr", "RATE", "Peak learning rate (default: LoRA's 2e-4, adjusted for the batch size and explained in the log)"),
        new("scheduler", "NAME", "Rate schedule: " + string.Join(", ", ScheduleKindNames.All) + " (default cosine)"),
        new("num-cycles", "X", "cosine kinds: half-waves (default 0.5); cosine_with_restarts: restarts (default 1)"),
        new("min-lr-ratio", "F", $"cosine_with_min_lr and warmup_stable_decay: the floor as a fraction of the peak (default {TrainingDefaults.MinRateRatio} and 0)"),
        new("decay-steps", "N", $"warmup_stable_decay: steps of the final decay (default {TrainingDefaults.WsdDecayFraction:P0} of the run)"),
        new("warmup-steps", "N", "Warm the rate up over N optimizer steps"),
        new("warmup-ratio", "F", $"Warm up over this fraction of the steps (default {TrainingDefaults.WarmupRatio})"),
        new("epochs", "N", $"Passes over the training data (default {TrainingDefaults.Epochs})"),
        new("max-steps", "N", "Stop after N optimizer steps (overrides --epochs)"),
        new("grad-accum", "N", "Micro-batches per optimizer step (default 1)"),
        new("max-grad-norm", "X", "Clip the gradient norm at X; 0 disables (default 1)"),
        new("weight-decay", "X", "AdamW weight decay of the LoRA factors (default 0)"),
        new("resume", "DIR", "Continue from a checkpoint: an earlier --output folder or one checkpoint-N folder"),
        new("override-lr", null, "With --resume: replace the checkpoint's peak rate by --lr, keeping the schedule's shape"),
        new("metrics", "FILE", "JSONL metrics file (default OUTPUT/metrics.jsonl)"),
        new("eval-data", "FILE", "Evaluation data file"),
        new("eval-split", "F", "Hold out this fraction of --data for evaluation (deterministic with --seed)"),
        new("eval-every", "N", "Evaluate every N steps (default: at each epoch end and the last step)"),
        new("early-stopping", "N", "Stop after N evaluations without improvement"),
        new("checkpoint-every", "N", "Write a resumable checkpoint every N steps (default: at the end and on Ctrl+C)"),
        new("keep-checkpoints", "K", "Keep only the newest K checkpoint folders (default: all)"),
        new("packing", null, "causal-lm: join the examples into full blocks of --max-length (no padding; prompt masking is dropped)"),
        new("watchdog", "POLICY", "On a NaN or a loss spike: skip (default), rollback (and lower the rate) or stop"),
        new("chart", "FILE", "Loss and rate chart, .png or .svg (default OUTPUT/curves.png)"),
        new("csv", "FILE", "Also write the metrics as CSV"),
        new("log-every", "N", "When the output is not a terminal: a progress line every N steps (default: about 20 lines per run)"),
    ];

    /// <summary>The output folder.</summary>
    public required string Output { get; init; }

    /// <summary>The checkpoint folder to resume from, resolved.</summary>
    public string? ResumeCheckpoint { get; init; }

    /// <summary>The checkpoint's state, when resuming.</summary>
    public TrainerState? ResumeState { get; init; }

    /// <summary>The checkpoint's adapter settings, when resuming.</summary>
    public LoraSettings? ResumeLora { get; init; }

    /// <summary>The run's configuration (the LoRA settings of a loaded adapter or checkpoint are put in by the session).</summary>
    public required TrainerOptions Trainer { get; init; }

    /// <summary>The evaluation file, if any.</summary>
    public string? EvalData { get; init; }

    /// <summary>The chart file.</summary>
    public required string Chart { get; init; }

    /// <summary>The CSV file, if any.</summary>
    public string? Csv { get; init; }

    /// <summary>Plain progress every N steps, or null for the default.</summary>
    public int? LogEvery { get; init; }

    /// <summary>The seed in effect (the checkpoint's when resuming without --seed).</summary>
    public ulong Seed => Trainer.Seed;

    /// <summary>Checks the train-only options against each other and the file system.</summary>
    /// <exception cref="UsageException">A value or combination is invalid.</exception>
    public static TrainSettings Parse(ParsedArguments args, CommonTrainingSettings common)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(common);
        string output = Path.GetFullPath(args.Required("output"));
        if (File.Exists(output)) throw new UsageException($"--output '{output}' is a file; pass a folder for the adapter, checkpoints and metrics.");
        if (args.Has("warmup-steps") && args.Has("warmup-ratio"))
            throw new UsageException("Give the warmup as --warmup-steps or as --warmup-ratio, not both.");
        if (args.Has("eval-data") && args.Has("eval-split"))
            throw new UsageException("Evaluate on --eval-data FILE or on an --eval-split of --data, not both.");
        string? evalData = args.Option("eval-data") is string e ? TrainingArguments.RequireDataFile(e, "eval-data") : null;
        double? evalSplit = OptionValues.Double(args, "eval-split", 0, 1, minExclusive: true, maxExclusive: true, hint: "0.1 holds out 10%");
        bool hasEval = evalData is not null || evalSplit is not null;
        foreach (string needsEval in new[] { "eval-every", "early-stopping" })
            if (args.Has(needsEval) && !hasEval)
                throw new UsageException($"--{needsEval} needs evaluation data: add --eval-data FILE or --eval-split 0.1.");

        var (resumeDir, state, resumeLora) = Resume(args, common, output);
        if (state is not null && common.SeedGiven && common.Trainer.Seed != state.Seed)
            throw new UsageException($"The checkpoint was trained with --seed {state.Seed}, which fixes its data order; resume with --seed {state.Seed} or without --seed.");

        string chart = Path.GetFullPath(args.Option("chart") ?? Path.Combine(output, "curves.png"));
        if (Path.GetExtension(chart).ToLowerInvariant() is not (".png" or ".svg"))
            throw new UsageException($"--chart '{chart}' must end in .png or .svg.");
        double? lr = OptionValues.Double(args, "lr", 0, 1, minExclusive: true, hint: "LoRA usually uses 1e-4 to 3e-4");
        var d = common.Trainer;
        var trainer = d with
        {
            LearningRate = lr, Scheduler = Scheduler(args.Option("scheduler")) ?? d.Scheduler,
            WarmupSteps = OptionValues.Long(args, "warmup-steps", 0),
            WarmupRatio = OptionValues.Double(args, "warmup-ratio", 0, 1) ?? d.WarmupRatio,
            ScheduleParameters = d.ScheduleParameters with
            {
                NumCycles = OptionValues.Double(args, "num-cycles", 0, minExclusive: true),
                MinRateRatio = OptionValues.Double(args, "min-lr-ratio", 0, 1),
                DecaySteps = OptionValues.Long(args, "decay-steps", 0),
            },
            Epochs = OptionValues.Int(args, "epochs", 1, 100_000) ?? d.Epochs,
            MaxSteps = OptionValues.Long(args, "max-steps", 1),
            GradientAccumulation = OptionValues.Int(args, "grad-accum", 1, 1 << 16) ?? d.GradientAccumulation,
            MaxGradNorm = OptionValues.Double(args, "max-grad-norm", 0) ?? d.MaxGradNorm,
            WeightDecay = OptionValues.Double(args, "weight-decay", 0, 1) ?? d.WeightDecay,
            Seed = common.SeedGiven ? d.Seed : state?.Seed ?? d.Seed,
            Packing = args.Has("packing"),
            EvalSplit = evalSplit,
            EvalEvery = OptionValues.Int(args, "eval-every", 1) ?? d.EvalEvery,
            EarlyStoppingPatience = OptionValues.Int(args, "early-stopping", 1) ?? d.EarlyStoppingPatience,
            CheckpointEvery = OptionValues.Int(args, "checkpoint-every", 1) ?? d.CheckpointEvery,
            KeepCheckpoints = OptionValues.Int(args, "keep-checkpoints", 1),
            OutputDirectory = output,
            MetricsFile = Path.GetFullPath(args.Option("metrics") ?? Path.Combine(output, RunFolder.MetricsFileName)),
            Watchdog = d.Watchdog with { Policy = OptionValues.Choice(args, "watchdog", Policies) ?? d.Watchdog.Policy },
            ResumeFrom = resumeDir,
            OverrideRateOnResume = args.Has("override-lr"),
            BaseModelNameOrPath = common.ModelDir,
        };
        CheckOutputs(trainer, common, evalData, resumeDir is not null, chart, args.Option("csv"));
        // A TrainerOptionException reaches CliApp, which shows it with the flags (CliOptionNames) and exits 2.
        trainer.Validate();
        return new TrainSettings
        {
            Output = output, ResumeCheckpoint = resumeDir, ResumeState = state, ResumeLora = resumeLora, Trainer = trainer,
            EvalData = evalData, Chart = chart,
            Csv = args.Option("csv") is string csv ? Path.GetFullPath(csv) : null,
            LogEvery = OptionValues.Int(args, "log-every", 1),
        };
    }

    // Before anything is loaded: every file the run writes is not an input, not an earlier run's,
    // and its folder can be written (a read-only or immutable location fails here, not after loading).
    private static void CheckOutputs(TrainerOptions o, CommonTrainingSettings common, string? evalData, bool resuming, string chart, string? csv)
    {
        var inputs = new[] { common.DataPath, evalData }.OfType<string>().Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal);
        foreach (var (flag, path) in new[] { ("metrics", o.MetricsFile), ("chart", chart), ("csv", csv is null ? null : Path.GetFullPath(csv)) })
        {
            if (path is null) continue;
            if (inputs.Contains(path)) throw new UsageException($"--{flag} '{path}' is the training or evaluation data; writing there would destroy it. Choose another file.");
            if (Directory.Exists(path)) throw new UsageException($"--{flag} '{path}' is a folder; give a file name.");
        }
        if (!resuming && o.MetricsFile is string m && File.Exists(m))
            throw new UsageException($"--metrics '{m}' already exists (an earlier run's metrics); a new run never overwrites it. Choose another file, delete it, or add --resume.");
        foreach (string dir in new[] { o.OutputDirectory, Path.GetDirectoryName(o.MetricsFile), Path.GetDirectoryName(chart) }.OfType<string>().Distinct())
            OutputFolders.RequireWritable(dir, "--output", "Training writes the adapter, checkpoints and metrics there");
    }

    private static ScheduleKind? Scheduler(string? name)
    {
        if (name is null) return null;
        if (ScheduleKindNames.TryParse(name, out var kind)) return kind;
        throw new UsageException($"--scheduler {name} is not a schedule; use one of {string.Join(", ", ScheduleKindNames.All)}.");
    }

    private static (string? Dir, TrainerState? State, LoraSettings? Lora) Resume(ParsedArguments args, CommonTrainingSettings common, string output)
    {
        if (args.Option("resume") is not string resume)
        {
            var earlier = RunFolder.EarlierRunFiles(output);
            if (earlier.Count > 0)
                throw new UsageException($"--output '{output}' already holds a training run ({string.Join(", ", earlier.Take(4))}{(earlier.Count > 4 ? ", …" : "")}); " +
                    $"a new run never writes over it. Add --resume {output} to continue it, or choose another --output folder.");
            return (null, null, null);
        }
        if (common.InitAdapter is not null)
            throw new UsageException("--resume continues a checkpoint's adapter, so --init-adapter does not apply; drop one of them.");
        string dir = TrainingCheckpoint.Resolve(Path.GetFullPath(resume));
        var state = TrainingCheckpoint.ReadState(dir);
        var saved = PeftAdapterIO.ReadSettings(dir);
        if (common.LoraGiven)
        {
            var given = common.Trainer.Lora;
            string? flag = given.Rank != saved.Rank ? "lora-r" : given.Alpha != saved.Alpha ? "lora-alpha"
                : given.UseRsLora != saved.UseRsLora ? "use-rslora" : null;
            if (flag is not null)
                throw new UsageException($"--resume continues the checkpoint's adapter (r={saved.Rank}, alpha={saved.Alpha}{(saved.UseRsLora ? ", rsLoRA" : "")}), " +
                    $"whose shape cannot change mid-run; drop --{flag} (or start a new run in another --output folder).");
        }
        var lora = common.LoraGiven ? null : saved;
        return (dir, state, lora);
    }
}
