using MLNetLora.LibTorch;
using MLNetLora.Models.Transformer;
using MLNetLora.Training.Data;
using MLNetLora.Training.Optim;
using MLNetLora.Training.Schedules;
using MLNetLora.Training.Watchdog;

namespace MLNetLora.Training.Engine;

/// <summary>What one optimizer step measured.</summary>
/// <param name="Loss">Mean loss over the real targets of all micro-batches, before the update.</param>
/// <param name="GradNorm">Global gradient norm before clipping.</param>
/// <param name="LearningRate">Rate applied.</param>
/// <param name="Tokens">Real tokens processed.</param>
/// <param name="Decision">The watchdog's verdict.</param>
public sealed record StepMetrics(double Loss, double GradNorm, double LearningRate, long Tokens, WatchdogDecision Decision);

/// <summary>
/// One optimizer step: forward and backward over the micro-batches (gradients accumulated with each
/// loss divided by the real-target count of all of them, so an accumulated step equals one big batch,
/// the bug transformers#34191 fixed), global-norm clipping, the watchdog's verdict, then the update,
/// a skip, a rollback to the last good snapshot or a stop.
/// </summary>
internal sealed class OptimizerStep(DecoderModel model, AdamW optimizer, ILearningRateSchedule schedule, LossWatchdog watchdog,
    Generator dropout, TrainerOptions options, Action<string> log) : IDisposable
{
    private TrainingSnapshot? lastGood;

    /// <summary>Optimizer steps completed.</summary>
    public long GlobalStep { get; set; }

    /// <summary>Multiplier from watchdog rollbacks (1 until one happens).</summary>
    public double RateFactor { get; set; } = 1.0;

    /// <summary>How often (in good steps) the in-memory rollback point is refreshed.</summary>
    public int SnapshotEvery { get; init; } = 25;

    public ILearningRateSchedule Schedule { get; set; } = schedule;

    public AdamW Optimizer => optimizer;

    public Generator Dropout => dropout;

    public LossWatchdog Watchdog => watchdog;

    /// <summary>The rate step <paramref name="step"/> (0-based) applies, including rollback reductions.</summary>
    public double RateAt(long step) => Schedule.LearningRate(step) * RateFactor;

    /// <summary>Runs one step; <paramref name="rateOverride"/> (the rate finder's) bypasses the schedule and the watchdog.</summary>
    /// <exception cref="TrainingStoppedException">The watchdog's policy is to stop.</exception>
    public StepMetrics Run(IReadOnlyList<Batch> microBatches, double? rateOverride = null)
    {
        ArgumentNullException.ThrowIfNull(microBatches);
        // Only a rollback reads the snapshot; for full fine-tuning it is a second copy of the model and its moments.
        bool rollback = options.Watchdog.Policy == WatchdogPolicy.RollbackAndLowerRate;
        if (rollback) lastGood ??= TrainingSnapshot.Take(model, optimizer, GlobalStep);
        var (loss, tokens) = ForwardBackward(microBatches);
        var grads = optimizer.Groups.SelectMany(g => g.Gradients).ToList();
        double gradNorm = GradientClipping.ClipByGlobalNorm(grads, options.MaxGradNorm);
        double lr = rateOverride ?? RateAt(GlobalStep);
        // The rate finder drives the rate into divergence on purpose: the watchdog stays out of it.
        var decision = rateOverride is null
            ? watchdog.Observe(new StepObservation(GlobalStep + 1, loss, gradNorm, lr))
            : new WatchdogDecision { Action = double.IsFinite(loss) ? WatchdogAction.Continue : WatchdogAction.SkipUpdate };
        Apply(decision, lr);
        GlobalStep++;
        if (rollback && decision.Action == WatchdogAction.Continue && GlobalStep % SnapshotEvery == 0)
        {
            lastGood!.Dispose();
            lastGood = TrainingSnapshot.Take(model, optimizer, GlobalStep);
        }
        return new StepMetrics(loss, gradNorm, lr, tokens, decision);
    }

    private (double Loss, long Tokens) ForwardBackward(IReadOnlyList<Batch> microBatches)
    {
        model.ZeroGrad();
        bool classify = options.Task == TrainingTask.Classification;
        double normalizer = Math.Max(1, classify
            ? microBatches.Sum(b => CrossEntropy.CountTargets(b.ClassLabels ?? []))
            : microBatches.Sum(b => CrossEntropy.CountTargets(CrossEntropy.ShiftForCausalLm(b.Labels, b.Size, b.Length))));
        var gen = options.Lora.Dropout > 0 ? dropout : null;
        double loss = 0;
        long tokens = 0;
        foreach (var b in microBatches)
        {
            using var scope = TensorScope.Begin();
            var (ids, mask) = b.ToTensors(model.Device);                                  // (B, T), (B, T) or null
            var r = classify
                ? model.ClassificationStep(ids, mask, b.ClassLabels ?? throw new ArgumentException("A classification batch needs class labels."), normalizer, true, gen).Result
                : model.CausalLmStep(ids, b.Labels, mask, normalizer, true, gen);
            r.DEmbeddings?.Dispose();
            loss += r.Loss;
            tokens += b.RealTokens;
        }
        return (loss, tokens);
    }

    private void Apply(WatchdogDecision decision, double lr)
    {
        switch (decision.Action)
        {
            case WatchdogAction.Continue:
                optimizer.Update(lr);
                break;
            case WatchdogAction.SkipUpdate:
                break;
            case WatchdogAction.RollbackAndLowerRate:
                lastGood!.Restore(model, optimizer);
                RateFactor *= decision.RateFactor;
                log($"rolled back to the state after step {lastGood.Step}; rate multiplier now {RateFactor:G3}");
                break;
            case WatchdogAction.Stop:
                throw new TrainingStoppedException(decision.Message ?? "The loss watchdog stopped training.");
        }
    }

    /// <summary>The loop state with this step's own state (position, generator, schedule, watchdog, rollbacks) written in, for a checkpoint.</summary>
    public TrainerState Capture(TrainerState loop) => loop with
    {
        Step = GlobalStep, DropoutGenerator = dropout.SaveState(), Schedule = Schedule.Options,
        Plateau = (Schedule as ReduceOnPlateauSchedule)?.SaveState(), Watchdog = watchdog.SaveState(), RateFactor = RateFactor,
    };

    /// <summary>Takes back what <see cref="Capture"/> wrote (tensors are restored separately).</summary>
    public void Restore(TrainerState s)
    {
        GlobalStep = s.Step;
        if (s.DropoutGenerator is not null) dropout.RestoreState(s.DropoutGenerator);
        if (s.Plateau is not null && Schedule is ReduceOnPlateauSchedule p) p.RestoreState(s.Plateau);
        if (s.Watchdog is not null) watchdog.RestoreState(s.Watchdog);
        RateFactor = s.RateFactor;
    }

    public void Dispose()
    {
        optimizer.Dispose();
        lastGood?.Dispose();
    }
}
