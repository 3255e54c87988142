namespace MLNetLora.Training.Schedules;

/// <summary>
/// Everything that defines a learning-rate curve. Users fill in the kind, the peak rate, the total
/// number of optimizer steps and the warmup; per-kind fields left null take transformers' (or
/// PyTorch's) defaults. <see cref="LearningRateSchedules.Resolve"/> turns this into the canonical
/// form a checkpoint stores: warmup as a step count, no ratios, every default filled in. The record
/// serializes with <c>System.Text.Json</c> as is.
/// </summary>
public sealed record ScheduleOptions
{
    /// <summary>The curve family. Default <see cref="ScheduleKind.Cosine"/>.</summary>
    public ScheduleKind Kind { get; init; } = ScheduleKind.Cosine;

    /// <summary>
    /// The rate the curve is built around: the plateau after warmup, the start of the decay, the
    /// <c>max_lr</c> of one-cycle and the starting rate of reduce-on-plateau. Must be positive.
    /// </summary>
    public double LearningRate { get; init; }

    /// <summary>
    /// Optimizer steps in the whole run (after gradient accumulation). Required by every kind that
    /// decays towards an end point and by <see cref="WarmupRatio"/>; may stay 0 for
    /// <c>constant</c>, <c>constant_with_warmup</c>, <c>inverse_sqrt</c> and <c>reduce_on_plateau</c>.
    /// </summary>
    public long TotalSteps { get; init; }

    /// <summary>Warmup length in optimizer steps. Set this or <see cref="WarmupRatio"/>, not both; neither means no warmup.</summary>
    public long? WarmupSteps { get; init; }

    /// <summary>
    /// Warmup as a fraction of <see cref="TotalSteps"/>, rounded up the way transformers'
    /// <c>TrainingArguments.get_warmup_steps</c> does: <c>ceil(total * ratio)</c> in double arithmetic.
    /// </summary>
    public double? WarmupRatio { get; init; }

    /// <summary>How the rate rises during warmup. Default <see cref="WarmupShape.Linear"/>.</summary>
    public WarmupShape WarmupShape { get; init; } = WarmupShape.Linear;

    /// <summary>
    /// For <see cref="WarmupShape.Exponential"/>: the multiplier at step 0, in (0, 1). Default 0.01,
    /// i.e. warmup starts two orders of magnitude below the peak.
    /// </summary>
    public double ExponentialWarmupStart { get; init; } = 0.01;

    /// <summary>
    /// transformers' <c>num_cycles</c>: cosine waves in <c>cosine</c>, <c>cosine_with_min_lr</c> and the
    /// WSD cosine decay (default 0.5, a half wave down to the floor), or the number of hard restarts in
    /// <c>cosine_with_restarts</c> (default 1).
    /// </summary>
    public double? NumCycles { get; init; }

    /// <summary><c>polynomial</c>: the exponent of the decay. Default 1 (linear), as in transformers.</summary>
    public double PolynomialPower { get; init; } = 1.0;

    /// <summary><c>polynomial</c>: the rate reached at the last step (transformers' <c>lr_end</c>). Default 1e-7; must be below the peak.</summary>
    public double PolynomialEndRate { get; init; } = 1e-7;

    /// <summary><c>inverse_sqrt</c>: the time scale in steps. Default: the warmup length, or 10,000 without warmup (transformers).</summary>
    public long? Timescale { get; init; }

    /// <summary><c>cosine_with_min_lr</c> and <c>warmup_stable_decay</c>: the floor as an absolute rate. Set this or <see cref="MinRateRatio"/>.</summary>
    public double? MinRate { get; init; }

    /// <summary>
    /// <c>cosine_with_min_lr</c> (transformers' <c>min_lr_rate</c>, required there) and
    /// <c>warmup_stable_decay</c> (<c>min_lr_ratio</c>, default 0): the floor as a fraction of the peak.
    /// </summary>
    public double? MinRateRatio { get; init; }

    /// <summary><c>warmup_stable_decay</c>: length of the decay phase in steps (transformers' <c>num_decay_steps</c>, required).</summary>
    public long? DecaySteps { get; init; }

    /// <summary><c>warmup_stable_decay</c>: length of the stable phase; default <c>total - warmup - decay</c>.</summary>
    public long? StableSteps { get; init; }

    /// <summary><c>warmup_stable_decay</c>: the decay curve. Default <see cref="DecayShape.Cosine"/>, as in transformers.</summary>
    public DecayShape DecayShape { get; init; } = DecayShape.Cosine;

    /// <summary>Parameters of <see cref="ScheduleKind.OneCycle"/>; ignored by the other kinds.</summary>
    public OneCycleOptions OneCycle { get; init; } = new();

    /// <summary>Parameters of <see cref="ScheduleKind.ReduceOnPlateau"/>; ignored by the other kinds.</summary>
    public ReduceOnPlateauOptions Plateau { get; init; } = new();
}
