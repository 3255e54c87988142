using MLNetLora.LibTorch;
using MLNetLora.Models.Transformer;
using MLNetLora.Training.Data;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Optim;
using MLNetLora.Training.Schedules;
using MLNetLora.Training.Watchdog;

namespace MLNetLora.Training.Engine;

/// <summary>
/// Trains LoRA adapters (and a classification head) of a <see cref="DecoderModel"/>: AdamW with a
/// learning-rate schedule, gradient accumulation normalised over the real tokens of the whole
/// accumulated batch, global-norm clipping, a loss watchdog, evaluation with early stopping, and
/// resumable checkpoints. <see cref="Step"/> is one optimizer step and is public so a known batch
/// sequence (e.g. a reference trajectory) can be replayed.
/// </summary>
public sealed partial class LoraTrainer : IDisposable
{
    private readonly DecoderModel model;
    private readonly Generator dropoutGenerator;
    private readonly LossWatchdog watchdog;
    private AdamW? optimizer;
    private ILearningRateSchedule? schedule;
    private TrainingSnapshot? lastGood;

    /// <summary>Prepares a trainer; adds LoRA adapters (from <see cref="TrainerOptions.Lora"/>) when the model has none.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public LoraTrainer(DecoderModel model, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.model = model;
        Options = options;
        if (model.Adapters.Count == 0) model.AddLora(options.Lora, SeedStreams.LoraInit(options.Seed));
        model.GradientCheckpointing = options.GradientCheckpointing;
        dropoutGenerator = SeedStreams.Dropout(options.Seed);
        watchdog = new LossWatchdog(options.Watchdog);
        watchdog.EventRaised += (_, e) => Log($"watchdog: {e.Message}");
    }

    /// <summary>The run's options.</summary>
    public TrainerOptions Options { get; }

    /// <summary>Optimizer steps completed.</summary>
    public long GlobalStep { get; private set; }

    /// <summary>Multiplier from watchdog rollbacks.</summary>
    public double RateFactor { get; private set; } = 1.0;

    /// <summary>The schedule (after <see cref="Prepare"/>).</summary>
    public ILearningRateSchedule Schedule => schedule ?? throw new InvalidOperationException("Call Prepare (or Train) first.");

    /// <summary>The optimizer (after <see cref="Prepare"/>).</summary>
    public AdamW Optimizer => optimizer ?? throw new InvalidOperationException("Call Prepare (or Train) first.");

    /// <summary>Every watchdog event so far.</summary>
    public IReadOnlyList<WatchdogEvent> WatchdogEvents => watchdog.Events;

    /// <summary>
    /// Builds the schedule for <paramref name="totalSteps"/> and the optimizer. When no rate was
    /// given, chooses the method default adjusted for the effective batch and logs why.
    /// </summary>
    public void Prepare(long totalSteps, ScheduleOptions? resumedSchedule = null)
    {
        double rate;
        if (Options.LearningRate is double given) rate = given;
        else
        {
            var rec = LearningRateAdvisor.Recommend(FineTuneMethod.Lora,
                BatchSize.OfSequences((long)Options.BatchSize * Options.GradientAccumulation), Options.Lora.Rank, Options.Lora.Alpha, Options.Lora.UseRsLora);
            rate = rec.Rate;
            Log($"learning rate {rate:G3} chosen: {rec.Explanation}");
        }
        var requested = Options.ScheduleParameters with
        {
            Kind = Options.Scheduler,
            PeakRate = rate,
            TotalSteps = Math.Max(1, totalSteps),
            WarmupSteps = Options.WarmupSteps,
            WarmupRatio = Options.WarmupSteps is null ? Options.WarmupRatio : null,
            WarmupShape = Options.WarmupShape,
        };
        var resolved = resumedSchedule ?? requested;
        if (resumedSchedule is not null && Options.OverrideRateOnResume && Options.LearningRate is double over && over != resumedSchedule.PeakRate)
        {
            Log($"resume: peak rate overridden from {resumedSchedule.PeakRate:G3} to {over:G3} as requested; the schedule's shape and position are kept.");
            resolved = resumedSchedule with { PeakRate = over };
        }
        schedule = LearningRateSchedules.Create(resolved);
        if (optimizer is null)
        {
            var groups = new List<ParameterGroup>
            {
                new("lora_A", model.Adapters.Values.Select(a => a.A).ToList(), model.Adapters.Values.Select(a => a.GradA).ToList(), 1.0, Options.WeightDecay),
                new("lora_B", model.Adapters.Values.Select(a => a.B).ToList(), model.Adapters.Values.Select(a => a.GradB).ToList(), Options.LoraPlusRatio, Options.WeightDecay),
            };
            if (model.ScoreHead is not null)
                groups.Add(new("score", [model.ScoreHead.Weight], [model.ScoreHead.Grad], Options.HeadRateMultiplier, Options.HeadWeightDecay));
            optimizer = new AdamW(groups, Options.Adam.Beta1, Options.Adam.Beta2, Options.Adam.Eps);
        }
        var s = Schedule.Options;
        Log($"schedule {ScheduleKindNames.ToName(s.Kind)}: peak {s.PeakRate:G3}, {s.TotalSteps} steps, warmup {s.WarmupSteps ?? 0}");
    }

    /// <summary>The rate step <paramref name="step"/> (0-based) applies, including rollback reductions.</summary>
    public double RateAt(long step) => Schedule.LearningRate(step) * RateFactor;

    /// <summary>What one optimizer step measured.</summary>
    /// <param name="Loss">Mean loss over the real targets of all micro-batches, before the update.</param>
    /// <param name="GradNorm">Global gradient norm before clipping.</param>
    /// <param name="LearningRate">Rate applied.</param>
    /// <param name="Tokens">Real tokens processed.</param>
    /// <param name="Decision">The watchdog's verdict.</param>
    public sealed record StepMetrics(double Loss, double GradNorm, double LearningRate, long Tokens, WatchdogDecision Decision);

    /// <summary>
    /// One optimizer step over <paramref name="microBatches"/>: gradients are accumulated with the
    /// loss of every micro-batch divided by the real-target count of all of them together (so an
    /// accumulated step equals one big batch, the bug transformers#34191 fixed), clipped, checked by
    /// the watchdog, then applied.
    /// </summary>
    /// <exception cref="TrainingStoppedException">The watchdog's policy is to stop.</exception>
    public StepMetrics Step(IReadOnlyList<Batch> microBatches) => StepAt(microBatches, null);

    private StepMetrics StepAt(IReadOnlyList<Batch> microBatches, double? rateOverride)
    {
        ArgumentNullException.ThrowIfNull(microBatches);
        var opt = Optimizer;
        lastGood ??= TrainingSnapshot.Take(model, opt, GlobalStep);
        model.ZeroGrad();
        bool classify = Options.Task == TrainingTask.Classification;
        double normalizer = classify
            ? microBatches.Sum(b => CrossEntropy.CountTargets(b.ClassLabels ?? []))
            : microBatches.Sum(b => CrossEntropy.CountTargets(CrossEntropy.ShiftForCausalLm(b.Labels, b.Size, b.Length)));
        normalizer = Math.Max(1, normalizer);
        double loss = 0;
        long tokens = 0;
        foreach (var b in microBatches)
        {
            using var scope = TensorScope.Begin();
            var ids = Tensor.FromArray(b.InputIds, b.Size, b.Length).To(model.Device);
            var mask = b.HasPadding ? Tensor.FromArray(b.AttentionMask, b.Size, b.Length).To(model.Device) : null;
            var dropout = Options.Lora.Dropout > 0 ? dropoutGenerator : null;
            var r = classify
                ? model.ClassificationStep(ids, mask, b.ClassLabels ?? throw new ArgumentException("A classification batch needs class labels."), normalizer, true, dropout).Result
                : model.CausalLmStep(ids, b.Labels, mask, normalizer, true, dropout);
            r.DEmbeddings?.Dispose();
            loss += r.Loss;
            tokens += b.RealTokens;
        }
        var grads = opt.Groups.SelectMany(g => g.Gradients).ToList();
        double gradNorm = GradientClipping.ClipByGlobalNorm(grads, Options.MaxGradNorm);
        double lr = rateOverride ?? RateAt(GlobalStep);
        // The rate finder drives the rate into divergence on purpose: the watchdog stays out of it.
        var decision = rateOverride is null
            ? watchdog.Observe(new StepObservation(GlobalStep + 1, loss, gradNorm, lr))
            : new WatchdogDecision { Action = double.IsFinite(loss) ? WatchdogAction.Continue : WatchdogAction.SkipUpdate };
        switch (decision.Action)
        {
            case WatchdogAction.Continue:
                opt.Update(lr);
                break;
            case WatchdogAction.SkipUpdate:
                break;
            case WatchdogAction.RollbackAndLowerRate:
                lastGood.Restore(model, opt);
                RateFactor *= decision.RateFactor;
                Log($"rolled back to the state after step {lastGood.Step}; rate multiplier now {RateFactor:G3}");
                break;
            case WatchdogAction.Stop:
                throw new TrainingStoppedException(decision.Message ?? "The loss watchdog stopped training.");
        }
        GlobalStep++;
        if (decision.Action == WatchdogAction.Continue && GlobalStep % SnapshotEvery == 0)
        {
            lastGood.Dispose();
            lastGood = TrainingSnapshot.Take(model, opt, GlobalStep);
        }
        return new StepMetrics(loss, gradNorm, lr, tokens, decision);
    }

    /// <summary>How often (in good steps) the in-memory rollback point is refreshed.</summary>
    public int SnapshotEvery { get; init; } = 25;

    private void Log(string message) => Options.Log?.Invoke(message);

    /// <summary>Frees the optimizer state and snapshots (not the model).</summary>
    public void Dispose()
    {
        optimizer?.Dispose();
        lastGood?.Dispose();
    }
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
