using MLNetLora.LibTorch;
using MLNetLora.Training.Schedules;
using MLNetLora.Training.Watchdog;

namespace MLNetLora.Training.Engine;

/// <summary>
/// Everything besides tensors that a resumed run needs to continue exactly where it stopped: the
/// step, the position in the data order, generator states, the resolved schedule (so the rate
/// curve continues instead of restarting), plateau and watchdog state, and early-stopping counters.
/// The training loop keeps its position, early-stopping counters and loss average in this record
/// and nowhere else; a checkpoint serialises it as it is and a resume deserialises it.
/// </summary>
public sealed record TrainerState
{
    /// <summary>Optimizer steps completed.</summary>
    public long Step { get; init; }

    /// <summary>Epoch the next micro-batch belongs to (0-based).</summary>
    public int Epoch { get; init; }

    /// <summary>Index of the next micro-batch within that epoch.</summary>
    public int BatchInEpoch { get; init; }

    /// <summary>The run's seed (data order is a function of seed and epoch).</summary>
    public ulong Seed { get; init; }

    /// <summary>Number of training examples (a different count on resume means different data).</summary>
    public int TrainExamples { get; init; }

    /// <summary>LoRA dropout generator state.</summary>
    public GeneratorState? DropoutGenerator { get; init; }

    /// <summary>The resolved schedule.</summary>
    public ScheduleOptions Schedule { get; init; } = new();

    /// <summary>Plateau schedule state, when that schedule is used.</summary>
    public ReduceOnPlateauState? Plateau { get; init; }

    /// <summary>Watchdog window and counters.</summary>
    public LossWatchdogState? Watchdog { get; init; }

    /// <summary>Multiplier applied by watchdog rollbacks (1 when none happened).</summary>
    public double RateFactor { get; init; } = 1.0;

    /// <summary>Best evaluation loss so far.</summary>
    public double? BestEvalLoss { get; init; }

    /// <summary>Evaluations since the best one.</summary>
    public int EvalsWithoutImprovement { get; init; }

    /// <summary>Bias-corrected EMA of the loss and its step count, for progress.</summary>
    public double LossEma { get; init; }

    /// <summary>Steps folded into <see cref="LossEma"/>.</summary>
    public long LossEmaSteps { get; init; }

    /// <summary>What defines the run (base model, data, batch layout, LoRA shape, rate); a resume must match it. Null in checkpoints written before it was recorded.</summary>
    public RunIdentity? Identity { get; init; }

    /// <summary>Metrics rows a run stopped by a failed write could not write; a resume appends them. Null when none.</summary>
    public string[]? UnwrittenMetrics { get; init; }

    /// <summary>A fresh run's state.</summary>
    public static TrainerState Start(ulong seed, int trainExamples) => new() { Seed = seed, TrainExamples = trainExamples };

    /// <summary>Folds a step's loss into the moving average (non-finite losses are left out).</summary>
    public TrainerState WithLoss(double loss) =>
        double.IsFinite(loss) ? this with { LossEma = 0.9 * LossEma + 0.1 * loss, LossEmaSteps = LossEmaSteps + 1 } : this;

    /// <summary>The bias-corrected moving average of the loss (NaN before the first finite loss).</summary>
    public double SmoothedLoss() => LossEmaSteps == 0 ? double.NaN : LossEma / (1 - Math.Pow(0.9, LossEmaSteps));

    /// <summary>The fractional epoch reached, for <paramref name="microBatchesPerEpoch"/> micro-batches per epoch.</summary>
    public double EpochProgress(int microBatchesPerEpoch) => Epoch + (double)BatchInEpoch / microBatchesPerEpoch;
}
