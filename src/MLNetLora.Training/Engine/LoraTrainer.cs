using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;
using MLNetLora.Models.Transformer;
using MLNetLora.Training.Data;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Optim;
using MLNetLora.Training.Schedules;
using MLNetLora.Training.Watchdog;

namespace MLNetLora.Training.Engine;

/// <summary>
/// Trains LoRA adapters (and a classification head) of a <see cref="DecoderModel"/> as
/// <see cref="TrainerOptions"/> say: it adds the adapters and the seeded head, builds the schedule and
/// AdamW, and runs <see cref="Train"/> (the loop) or single <see cref="Step"/>s, which are public so a
/// known batch sequence (e.g. a reference trajectory) can be replayed.
/// </summary>
public sealed partial class LoraTrainer : IDisposable
{
    private readonly DecoderModel model;
    private readonly Generator dropoutGenerator;
    private OptimizerStep? engine;

    /// <summary>
    /// Prepares a trainer: adds LoRA adapters (from <see cref="TrainerOptions.Lora"/>) when the model has
    /// none and, for classification, a head over <paramref name="classCount"/> classes drawn from the
    /// run seed when the model has none.
    /// </summary>
    /// <param name="model">The model to train.</param>
    /// <param name="options">The run's settings.</param>
    /// <param name="classCount">Classes of a classification head to add (0 when the model already has one or the task is causal LM).</param>
    /// <exception cref="TrainerOptionException">The options are invalid.</exception>
    /// <exception cref="ArgumentException">The LoRA targets match no layer, or an existing head has another number of classes.</exception>
    public LoraTrainer(DecoderModel model, TrainerOptions options, int classCount = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.model = model;
        Options = options;
        if (options.Method == FineTuneMethod.Full) PrepareFullTuning();
        else
        {
            if (options.Method == FineTuneMethod.QLora && !model.IsQuantized)
                Log("QLoRA: base weights quantized to 4-bit NF4" + (options.DoubleQuantization ? " with double-quantized scales" : "") + ". " +
                    model.QuantizeBaseWeights(options.DoubleQuantization));
            if (model.Adapters.Count == 0) model.AddLora(options.Lora, SeedStreams.LoraInit(options.Seed));
        }
        if (options.Task == TrainingTask.Classification) EnsureHead(classCount);
        model.GradientCheckpointing = options.GradientCheckpointing;
        dropoutGenerator = SeedStreams.Dropout(options.Seed);
    }

    /// <summary>Prepares a trainer for a loaded Hugging Face folder: its padding id and EOS (for packing) come with it.</summary>
    /// <inheritdoc cref="LoraTrainer(DecoderModel, TrainerOptions, int)"/>
    public LoraTrainer(PretrainedModel pretrained, TrainerOptions options, int classCount = 0)
        : this((pretrained ?? throw new ArgumentNullException(nameof(pretrained))).Model, options, classCount)
    {
        this.pretrained = pretrained;
        PadId = pretrained.PaddingId;
        EosId = pretrained.Tokenizer?.EosId;
        baseModelDirectory = pretrained.Directory;
    }

    private readonly string? baseModelDirectory;
    private readonly PretrainedModel? pretrained;
    private string? baseFingerprint;

    /// <summary>
    /// A hash of the base model folder's <see cref="ModelFingerprint"/>, recorded in checkpoints (null for a bare
    /// model); computed on first use, so a run without checkpoints reads nothing for it.
    /// </summary>
    public string? BaseFingerprint => baseFingerprint ??= baseModelDirectory is null ? null
        : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(ModelFingerprint.Of(baseModelDirectory).ToJson())));

    /// <summary>The run's options.</summary>
    public TrainerOptions Options { get; }

    /// <summary>Pad id used by the collator (the tokenizer's when built from a <see cref="PretrainedModel"/>; 0 otherwise).</summary>
    public int PadId { get; init; }

    /// <summary>End-of-sequence id put between examples when <see cref="TrainerOptions.Packing"/> is on.</summary>
    public int? EosId { get; init; }

    /// <summary>How often (in good steps) the in-memory rollback point is refreshed.</summary>
    public int SnapshotEvery { get; init; } = 25;

    /// <summary>Optimizer steps completed.</summary>
    public long GlobalStep => engine?.GlobalStep ?? 0;

    /// <summary>Multiplier from watchdog rollbacks.</summary>
    public double RateFactor => engine?.RateFactor ?? 1.0;

    /// <summary>The schedule (after <see cref="Prepare"/>).</summary>
    public ILearningRateSchedule Schedule => Engine.Schedule;

    /// <summary>The optimizer (after <see cref="Prepare"/>).</summary>
    public AdamW Optimizer => Engine.Optimizer;

    /// <summary>Every watchdog event so far.</summary>
    public IReadOnlyList<WatchdogEvent> WatchdogEvents => engine?.Watchdog.Events ?? [];

    internal DecoderModel Model => model;

    private OptimizerStep Engine => engine ?? throw new InvalidOperationException("Call Prepare (or Train) first.");

    /// <summary>
    /// Builds the schedule for <paramref name="totalSteps"/> (<see cref="TrainerOptions.ResolveSchedule"/>),
    /// the optimizer and the watchdog. When no rate was given, logs how the default was chosen.
    /// </summary>
    /// <param name="totalSteps">Planned optimizer steps.</param>
    /// <param name="resumedSchedule">A checkpoint's resolved schedule, which wins over the options (the curve continues).</param>
    /// <exception cref="TrainerOptionException">The schedule does not fit the run.</exception>
    public void Prepare(long totalSteps, ScheduleOptions? resumedSchedule = null)
    {
        if (resumedSchedule is null && Options.RecommendedRate() is { } rec) Log($"no LearningRate given, so {rec.Explanation}");
        var resolved = resumedSchedule ?? Options.ResolveSchedule(totalSteps);
        if (engine is null)
        {
            // Checked before AdamW allocates its moments: an oversized full fine-tuning run fails here, not an hour in.
            var memory = MemoryEstimate.For(model, Options);
            long? available = MemoryEstimate.AvailableBytes(model.Device);
            Log(memory.Describe(available));
            memory.ThrowIfTooLarge(available, Options.Method);
        }
        if (resumedSchedule is not null && Options.OverrideRateOnResume && Options.LearningRate is double over && over != resumedSchedule.LearningRate)
        {
            Log($"resume: peak rate overridden from {resumedSchedule.LearningRate:G3} to {over:G3} as requested; the schedule's shape and position are kept.");
            resolved = resumedSchedule with { LearningRate = over };
        }
        if (resumedSchedule is null)
            foreach (string warning in Options.ScheduleWarnings(resolved)) Log("warning: " + warning);
        var schedule = LearningRateSchedules.Create(resolved);
        if (engine is null)
        {
            var watchdog = new LossWatchdog(Options.ResolveWatchdog(resolved.LearningRate));
            watchdog.EventRaised += (_, e) => Log($"watchdog: {e.Message}");
            if (Options.DetectLossSpikes is null && Options.Task == TrainingTask.Classification)
                Log("watchdog: loss-spike detection is off for classification (a misclassified batch looks like a spike once most losses are near 0); NaN and infinity checks stay on");
            engine = new OptimizerStep(model, CreateOptimizer(), schedule, watchdog, dropoutGenerator, Options, Log) { SnapshotEvery = SnapshotEvery };
        }
        else engine.Schedule = schedule;
        var s = schedule.Options;
        Log($"schedule {ScheduleKindNames.ToName(s.Kind)}: peak {RateText.Format(s.LearningRate)}, {s.TotalSteps} steps, warmup {s.WarmupSteps ?? 0}");
    }

    /// <summary>The rate step <paramref name="step"/> (0-based) applies, including rollback reductions.</summary>
    public double RateAt(long step) => Engine.RateAt(step);

    /// <summary>One optimizer step over <paramref name="microBatches"/> (see <see cref="OptimizerStep"/>).</summary>
    /// <exception cref="TrainingStoppedException">The watchdog's policy is to stop.</exception>
    public StepMetrics Step(IReadOnlyList<Batch> microBatches) => Engine.Run(microBatches);

    /// <summary>
    /// Trains on <paramref name="train"/> for the configured epochs or steps, evaluating on
    /// <paramref name="eval"/>, writing metrics, checkpoints and the final (and best) adapter.
    /// Cancellation writes a checkpoint before returning; <see cref="TrainerOptions.ResumeFrom"/>
    /// continues a run exactly (same data order, same rate curve).
    /// </summary>
    /// <exception cref="ArgumentException">There is no training data, or the resumed checkpoint belongs to other data.</exception>
    public TrainingResult Train(IReadOnlyList<TrainingExample> train, IReadOnlyList<TrainingExample>? eval = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        train = Options.TrainingSet(train, EosId);
        if (train.Count == 0) throw new ArgumentException("There is no training data: check the data and MaxLength.", nameof(train));
        if (Options.OutputDirectory is string output)
            foreach (string left in TrainingCheckpoint.CleanLeftovers(output)) Log($"removed an interrupted checkpoint write: {left}");
        string? resumeDir = Options.ResumeFrom is null ? null : TrainingCheckpoint.Resolve(Options.ResumeFrom, Log);
        TrainerState? resumed = resumeDir is null ? null : TrainingCheckpoint.ReadState(resumeDir);
        if (resumed is not null && resumed.TrainExamples != train.Count)
            throw new ArgumentException($"The checkpoint was trained on {resumed.TrainExamples} examples but {train.Count} were given; resume with the same data and MaxLength.");
        // The identity (a hash of every token and of the base model) matters only where checkpoints are written or read.
        var identity = Options.OutputDirectory is null && resumed is null ? null : RunIdentity.Of(Options, train, BaseFingerprint, model.Adapters.Keys);
        if (resumed?.Identity is { } saved && identity is not null && saved.Differences(identity, Options.OverrideRateOnResume) is { Count: > 0 } differences)
            throw new TrainerOptionException(nameof(TrainerOptions.ResumeFrom), $"ResumeFrom: checkpoint '{resumeDir}' belongs to another run: " +
                string.Join("; ", differences) + ". Resume with the checkpoint's settings, or start a new run in another output folder.");
        long planned = Options.PlannedSteps(train.Count);
        Prepare(planned, resumed?.Schedule);
        if (resumed?.Schedule is { } curve && curve.TotalSteps != planned)
            Log($"resume: this run plans {planned} steps (MaxSteps/Epochs) but the checkpoint's schedule was resolved for {curve.TotalSteps}; " +
                $"the rate keeps the checkpoint's curve, which {(planned < curve.TotalSteps ? $"is cut off at step {planned} before it decays to its end" : $"ends at step {curve.TotalSteps} and stays at its final rate after it")}. " +
                "Start a new run to get a schedule for the new length.");
        var state = (resumed ?? TrainerState.Start(Options.Seed, train.Count)) with { Identity = identity, UnwrittenMetrics = null };
        if (resumed is not null && Options.MetricsFile is string metricsFile)
        {
            if (MetricsWriter.CutBackTo(metricsFile, resumed.Step) is int cut and > 0)
                Log($"metrics: removed {cut} rows written after step {resumed.Step} (the checkpoint resumed from), so the file reads like one run");
            MetricsWriter.Restore(metricsFile, resumed.UnwrittenMetrics ?? []);
        }
        if (resumed is not null)
        {
            TrainingCheckpoint.LoadTensors(resumeDir!, model, Optimizer);
            Engine.Restore(resumed);
            Log($"resumed from {resumeDir} at step {resumed.Step} (epoch {resumed.Epoch}, batch {resumed.BatchInEpoch}); next rate {RateAt(resumed.Step):G3}");
        }
        using var metrics = new MetricsWriter(Options.MetricsFile);
        metrics.Write("run", ("model", Path.GetFileName(Path.TrimEndingDirectorySeparator(Options.BaseModelNameOrPath))),
            ("method", Options.Method switch { FineTuneMethod.Lora => "LoRA", FineTuneMethod.QLora => "QLoRA", _ => "full" }),
            ("task", Options.Task == TrainingTask.Classification ? "classification" : "causal LM"), ("lr", Schedule.Options.LearningRate), ("step", state.Step));
        void OnEvent(object? sender, WatchdogEvent e) => metrics.Write("event", ("step", e.Step), ("kind", e.Kind.ToString()),
            ("action", e.Action.ToString()), ("message", e.Message), ("loss", e.Loss), ("grad_norm", e.GradNorm), ("lr", e.LearningRate));
        Engine.Watchdog.EventRaised += OnEvent;
        try
        {
            return new TrainingLoop(this, Engine, train, eval, metrics).Run(state, resumeDir, progress, cancellationToken);
        }
        finally
        {
            Engine.Watchdog.EventRaised -= OnEvent;
        }
    }

    /// <summary>Mean loss (token-weighted for causal LM) and accuracy (classification) on <paramref name="eval"/>.</summary>
    public EvaluationResult Evaluate(IReadOnlyList<TrainingExample> eval, double epochFloat = 0)
    {
        ArgumentNullException.ThrowIfNull(eval);
        var totals = ModelEvaluation.Evaluate(model, eval, Options.Task, Options.BatchSize, PadId, Options.MaxLength);
        return new EvaluationResult(GlobalStep, epochFloat, totals.Loss, totals.Accuracy);
    }

    /// <summary>Saves the current adapter (and head) in PEFT format.</summary>
    /// <exception cref="InvalidOperationException">The run is full fine-tuning, which has no adapter (use <see cref="SaveModel"/>).</exception>
    public void SaveAdapter(string directory) => PeftAdapterIO.Save(model, Options.Lora, directory, Options.BaseModelNameOrPath);

    /// <summary>
    /// Saves what the run trains: the adapter in PEFT format, or, for full fine-tuning, the whole model
    /// as a Hugging Face checkpoint (config, tokenizer and generation files from the base folder when the
    /// trainer was built from one; sharded above 5 GB), stored in the compute dtype so no update is rounded away.
    /// </summary>
    /// <param name="directory">Destination folder.</param>
    /// <exception cref="IOException">A file could not be written.</exception>
    public void SaveModel(string directory)
    {
        if (Options.Method != FineTuneMethod.Full)
        {
            SaveAdapter(directory);
            return;
        }
        if (pretrained is not null) pretrained.SaveMerged(directory, model.ComputeDType);
        else ShardedCheckpointWriter.Write(directory, model.NamedWeights().ToList(), model.ComputeDType);
    }

    internal void Log(string message) => Options.Log?.Invoke(message);

    private void EnsureHead(int classCount)
    {
        if (model.ScoreHead is { } head)
        {
            if (classCount > 0 && head.NumLabels != classCount)
                throw new ArgumentException($"The model already has a classification head over {head.NumLabels} classes (from a loaded adapter) but the data has {classCount}; " +
                    "train on data with the same classes, or start from fresh adapters.", nameof(classCount));
            return;
        }
        if (classCount < 2)
            throw new ArgumentException($"Classification needs at least two classes to add a head (got {classCount}); pass the number of classes in the data.", nameof(classCount));
        model.AddClassificationHead(classCount, SeedStreams.HeadInit(Options.Seed));
    }

    private void PrepareFullTuning()
    {
        if (model.Adapters.Count > 0)
            throw new TrainerOptionException(nameof(TrainerOptions.Method), "Method Full trains the base weights, but the model already has LoRA adapters (from a loaded adapter). " +
                "Merge them into the base first (mlnetlora merge, or PretrainedModel.SaveMerged) and fine-tune the merged model, or keep Method = Lora.");
        if (model.ComputeDType is DType.BFloat16 or DType.Float16)
            throw new TrainerOptionException(nameof(TrainerOptions.Method), $"Method Full updates every weight in place in the model's dtype ({model.ComputeDType}), " +
                "whose short mantissa rounds typical updates (a rate of 1e-5 moves a weight by about 1e-5 of its size) to nothing. Load the model in float32 for full fine-tuning, or use Method = Lora.");
        if (Options.FreezeLayers > model.Layers.Count)
            throw new TrainerOptionException(nameof(TrainerOptions.FreezeLayers), $"FreezeLayers is {Options.FreezeLayers} but the model has {model.Layers.Count} layers; freeze at most {model.Layers.Count}.");
        if (model.TrainableWeights.Count == 0)
            model.TrainBaseWeights(new FullTuningSettings { FreezeEmbeddings = Options.FreezeEmbeddings, FreezeLayers = Options.FreezeLayers });
    }

    // Weight decay on matrices and embeddings, none on norms and biases (transformers' Trainer groups).
    // A classifier does not use the LM head, so it is left out rather than decayed with a zero gradient.
    private List<ParameterGroup> FullTuningGroups()
    {
        var weights = model.TrainableWeights.Where(w => Options.Task != TrainingTask.Classification || w.Name != "lm_head.weight").ToList();
        var decay = weights.Where(w => !w.NoDecay).ToList();
        var noDecay = weights.Where(w => w.NoDecay).ToList();
        var groups = new List<ParameterGroup>();
        if (decay.Count > 0) groups.Add(new("weights", decay.Select(w => w.Value).ToList(), decay.Select(w => w.Grad).ToList(), 1.0, Options.WeightDecay));
        if (noDecay.Count > 0) groups.Add(new("no_decay", noDecay.Select(w => w.Value).ToList(), noDecay.Select(w => w.Grad).ToList(), 1.0, 0.0));
        return groups;
    }

    private AdamW CreateOptimizer()
    {
        var groups = Options.Method == FineTuneMethod.Full ? FullTuningGroups() : new List<ParameterGroup>
        {
            new("lora_A", model.Adapters.Values.Select(a => a.A).ToList(), model.Adapters.Values.Select(a => a.GradA).ToList(), 1.0, Options.WeightDecay),
            new("lora_B", model.Adapters.Values.Select(a => a.B).ToList(), model.Adapters.Values.Select(a => a.GradB).ToList(), Options.LoraPlusRatio, Options.WeightDecay),
        };
        var dora = model.Adapters.Values.Where(a => a.IsDora).ToList();
        if (dora.Count > 0)
            groups.Add(new("lora_magnitude", dora.Select(a => a.Magnitude!).ToList(), dora.Select(a => a.GradMagnitude!).ToList(), 1.0, Options.WeightDecay));
        if (model.ScoreHead is not null)
            groups.Add(new("score", [model.ScoreHead.Weight], [model.ScoreHead.Grad], Options.HeadRateMultiplier, Options.HeadWeightDecay));
        return new AdamW(groups, Options.Adam.Beta1, Options.Adam.Beta2, Options.Adam.Eps);
    }

    /// <summary>Frees the optimizer state and snapshots (not the model).</summary>
    public void Dispose() => engine?.Dispose();
}

/// <summary>Thrown when the loss watchdog's policy stops training; the message says what to change.</summary>
public sealed class TrainingStoppedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrainingStoppedException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public TrainingStoppedException() : base("Training was stopped by the loss watchdog.") { }

    /// <summary>Creates the exception.</summary>
    public TrainingStoppedException(string message, Exception inner) : base(message, inner) { }
}
