namespace MLNetLora.Training.Schedules;

/// <summary>
/// Builds schedules from <see cref="ScheduleOptions"/>. The transformers kinds reproduce
/// <c>transformers.optimization.get_scheduler</c> (with <c>TrainingArguments</c>' warmup rounding);
/// <c>one_cycle</c> and <c>reduce_on_plateau</c> reproduce PyTorch's <c>OneCycleLR</c> and
/// <c>ReduceLROnPlateau</c>. Options that transformers or PyTorch would only reject when a bad step is
/// reached (a division by zero, a floor above the peak) are rejected here, before training starts.
/// </summary>
public static class LearningRateSchedules
{
    /// <summary>Creates the schedule that <paramref name="options"/> describe.</summary>
    /// <param name="options">User options or a resolved record from a checkpoint.</param>
    /// <returns>The schedule; cast to <see cref="ReduceOnPlateauSchedule"/> to report metrics to
    /// <c>reduce_on_plateau</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid for the kind; the message says which
    /// value and why.</exception>
    public static ILearningRateSchedule Create(ScheduleOptions options)
    {
        var r = Resolve(options);
        return r.Kind switch
        {
            ScheduleKind.Constant => new ConstantSchedule(r),
            ScheduleKind.ConstantWithWarmup => new ConstantWithWarmupSchedule(r),
            ScheduleKind.Linear => new LinearSchedule(r),
            ScheduleKind.Cosine => new CosineSchedule(r),
            ScheduleKind.CosineWithRestarts => new CosineWithRestartsSchedule(r),
            ScheduleKind.Polynomial => new PolynomialSchedule(r),
            ScheduleKind.InverseSqrt => new InverseSqrtSchedule(r),
            ScheduleKind.CosineWithMinRate => new CosineWithMinRateSchedule(r),
            ScheduleKind.WarmupStableDecay => new WarmupStableDecaySchedule(r),
            ScheduleKind.OneCycle => new OneCycleSchedule(r),
            ScheduleKind.ReduceOnPlateau => new ReduceOnPlateauSchedule(r),
            _ => throw new ArgumentException($"Unknown schedule kind {r.Kind}.", nameof(options)),
        };
    }

    /// <summary>
    /// Validates <paramref name="options"/> and returns their canonical form: warmup as a step count
    /// (0 for kinds without warmup), <see cref="ScheduleOptions.WarmupRatio"/> and
    /// <see cref="ScheduleOptions.MinRate"/> folded into steps and ratios, and every per-kind default
    /// made explicit. Resolving a resolved record returns an equal record.
    /// </summary>
    /// <param name="options">The options to resolve.</param>
    /// <returns>The resolved options.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid for the kind.</exception>
    public static ScheduleOptions Resolve(ScheduleOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options;
        string name = Enum.IsDefined(o.Kind) ? ScheduleKindNames.ToName(o.Kind) : throw Bad($"unknown schedule kind {o.Kind}");
        if (!double.IsFinite(o.LearningRate) || o.LearningRate <= 0) throw Bad($"{name}: the peak rate must be a positive number, got {o.LearningRate}");
        if (o.TotalSteps < 0) throw Bad($"{name}: total steps must not be negative, got {o.TotalSteps}");
        if (!Enum.IsDefined(o.WarmupShape)) throw Bad($"{name}: unknown warmup shape {o.WarmupShape}");
        if (o.WarmupShape == WarmupShape.Exponential && !(o.ExponentialWarmupStart > 0 && o.ExponentialWarmupStart < 1))
            throw Bad($"{name}: the exponential warmup start must be in (0, 1), got {o.ExponentialWarmupStart}");

        long warmup = ResolveWarmup(o, name);
        bool hasWarmup = o.Kind is not (ScheduleKind.Constant or ScheduleKind.OneCycle or ScheduleKind.ReduceOnPlateau);
        var r = o with { WarmupSteps = hasWarmup ? warmup : 0, WarmupRatio = null };

        switch (o.Kind)
        {
            case ScheduleKind.Linear:
                RequireTotal(o, name);
                break;
            case ScheduleKind.Cosine:
                RequireTotal(o, name);
                r = r with { NumCycles = PositiveCycles(o.NumCycles ?? 0.5, name) };
                break;
            case ScheduleKind.CosineWithRestarts:
                RequireTotal(o, name);
                r = r with { NumCycles = PositiveCycles(o.NumCycles ?? 1.0, name) };
                break;
            case ScheduleKind.Polynomial:
                RequireTotal(o, name);
                if (o.TotalSteps <= warmup)
                    throw Bad($"polynomial: total steps ({o.TotalSteps}) must exceed warmup ({warmup}); transformers divides by their difference");
                if (!(o.PolynomialEndRate >= 0 && o.PolynomialEndRate < o.LearningRate))
                    throw Bad($"polynomial: the end rate ({o.PolynomialEndRate}) must be at least 0 and below the peak ({o.LearningRate})");
                if (!(o.PolynomialPower > 0) || !double.IsFinite(o.PolynomialPower))
                    throw Bad($"polynomial: the power must be a positive number, got {o.PolynomialPower}");
                break;
            case ScheduleKind.InverseSqrt:
                long timescale = o.Timescale ?? (warmup > 0 ? warmup : 10_000);
                if (timescale <= 0) throw Bad($"inverse_sqrt: the timescale must be positive, got {timescale}");
                r = r with { Timescale = timescale };
                break;
            case ScheduleKind.CosineWithMinRate:
                RequireTotal(o, name);
                if (o.MinRate is null && o.MinRateRatio is null)
                    throw Bad("cosine_with_min_lr: set the floor, either as a rate (min_lr) or as a fraction of the peak (min_lr_rate)");
                r = r with { NumCycles = PositiveCycles(o.NumCycles ?? 0.5, name), MinRate = null, MinRateRatio = MinRatio(o, 0.0, name) };
                break;
            case ScheduleKind.WarmupStableDecay:
                r = ResolveWsd(r, o, warmup);
                break;
            case ScheduleKind.OneCycle:
                RequireTotal(o, name);
                ValidateOneCycle(o.OneCycle ?? throw Bad("one_cycle: options are missing"));
                break;
            case ScheduleKind.ReduceOnPlateau:
                ValidatePlateau(o.Plateau ?? throw Bad("reduce_on_plateau: options are missing"));
                break;
        }
        return r;
    }

    /// <summary>
    /// Warmup steps for a ratio of the run, rounded up exactly like transformers'
    /// <c>math.ceil(num_training_steps * warmup_ratio)</c> (so 7% of 100 steps is 8, because
    /// 100 * 0.07 is 7.000000000000001 in double arithmetic).
    /// </summary>
    /// <param name="totalSteps">Optimizer steps in the run.</param>
    /// <param name="ratio">The warmup fraction, in [0, 1].</param>
    /// <returns>The number of warmup steps.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A negative step count or a ratio outside [0, 1].</exception>
    public static long WarmupStepsFromRatio(long totalSteps, double ratio)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(totalSteps);
        if (!(ratio >= 0 && ratio <= 1)) throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "The warmup ratio must be in [0, 1].");
        return (long)Math.Ceiling(totalSteps * ratio);
    }

    private static long ResolveWarmup(ScheduleOptions o, string name)
    {
        if (o.WarmupSteps is not null && o.WarmupRatio is not null)
            throw Bad($"{name}: give warmup as steps ({o.WarmupSteps}) or as a ratio ({o.WarmupRatio}), not both");
        if (o.WarmupSteps is { } steps)
            return steps >= 0 ? steps : throw Bad($"{name}: warmup steps must not be negative, got {steps}");
        if (o.WarmupRatio is not { } ratio) return 0;
        if (!(ratio >= 0 && ratio <= 1)) throw Bad($"{name}: the warmup ratio must be in [0, 1], got {ratio}");
        if (ratio > 0 && o.TotalSteps == 0) throw Bad($"{name}: a warmup ratio needs the total number of steps");
        return WarmupStepsFromRatio(o.TotalSteps, ratio);
    }

    private static ScheduleOptions ResolveWsd(ScheduleOptions r, ScheduleOptions o, long warmup)
    {
        const string name = "warmup_stable_decay";
        if (o.DecaySteps is not { } decay) throw Bad($"{name}: the number of decay steps (num_decay_steps) is required");
        if (decay < 0) throw Bad($"{name}: decay steps must not be negative, got {decay}");
        if (o.StableSteps is null && o.TotalSteps == 0) throw Bad($"{name}: give the total steps or the stable steps");
        long stable = o.StableSteps ?? o.TotalSteps - warmup - decay;
        if (stable < 0)
            throw Bad($"{name}: warmup ({warmup}) plus decay ({decay}) exceed the {o.TotalSteps} total steps; the stable phase would be {stable}");
        if (!Enum.IsDefined(o.DecayShape)) throw Bad($"{name}: unknown decay shape {o.DecayShape}");
        return r with
        {
            DecaySteps = decay,
            StableSteps = stable,
            MinRate = null,
            MinRateRatio = MinRatio(o, 0.0, name),
            NumCycles = PositiveCycles(o.NumCycles ?? 0.5, name),
        };
    }

    private static double MinRatio(ScheduleOptions o, double fallback, string name)
    {
        if (o.MinRate is not null && o.MinRateRatio is not null)
            throw Bad($"{name}: set the floor as a rate ({o.MinRate}) or as a ratio ({o.MinRateRatio}), not both");
        // transformers converts an absolute floor with min_lr / peak; keeping that exact division keeps the curve bit-identical.
        double ratio = o.MinRate is { } m ? m / o.LearningRate : o.MinRateRatio ?? fallback;
        if (!(ratio >= 0 && ratio <= 1))
            throw Bad($"{name}: the floor must be between 0 and the peak rate {o.LearningRate}; as a ratio it is {ratio}");
        return ratio;
    }

    private static double PositiveCycles(double cycles, string name) =>
        double.IsFinite(cycles) && cycles > 0 ? cycles : throw Bad($"{name}: num_cycles must be a positive number, got {cycles}");

    private static void RequireTotal(ScheduleOptions o, string name)
    {
        if (o.TotalSteps <= 0) throw Bad($"{name}: the total number of optimizer steps is required");
    }

    private static void ValidateOneCycle(OneCycleOptions c)
    {
        if (!(c.PctStart >= 0 && c.PctStart <= 1)) throw Bad($"one_cycle: pct_start must be in [0, 1], got {c.PctStart}");
        if (!(c.DivFactor > 0) || !double.IsFinite(c.DivFactor)) throw Bad($"one_cycle: div_factor must be positive, got {c.DivFactor}");
        if (!(c.FinalDivFactor > 0) || !double.IsFinite(c.FinalDivFactor))
            throw Bad($"one_cycle: final_div_factor must be positive, got {c.FinalDivFactor}");
        if (!Enum.IsDefined(c.Anneal)) throw Bad($"one_cycle: unknown anneal strategy {c.Anneal}");
    }

    private static void ValidatePlateau(ReduceOnPlateauOptions p)
    {
        if (!(p.Factor > 0 && p.Factor < 1)) throw Bad($"reduce_on_plateau: factor must be in (0, 1), got {p.Factor}");
        if (p.Patience < 0) throw Bad($"reduce_on_plateau: patience must not be negative, got {p.Patience}");
        if (p.Cooldown < 0) throw Bad($"reduce_on_plateau: cooldown must not be negative, got {p.Cooldown}");
        if (!(p.Threshold >= 0) || !double.IsFinite(p.Threshold)) throw Bad($"reduce_on_plateau: threshold must not be negative, got {p.Threshold}");
        if (!(p.MinRate >= 0) || !double.IsFinite(p.MinRate)) throw Bad($"reduce_on_plateau: min_lr must not be negative, got {p.MinRate}");
        if (!(p.Eps >= 0) || !double.IsFinite(p.Eps)) throw Bad($"reduce_on_plateau: eps must not be negative, got {p.Eps}");
        if (!Enum.IsDefined(p.Mode) || !Enum.IsDefined(p.ThresholdMode)) throw Bad("reduce_on_plateau: unknown mode or threshold mode");
    }

    private static ArgumentException Bad(string message) => new(message + ".");
}
