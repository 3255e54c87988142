namespace MLNetLora.Training.Schedules;

/// <summary>
/// <c>reduce_on_plateau</c> with PyTorch <c>ReduceLROnPlateau</c>'s semantics: the rate stays put until
/// <see cref="Report"/> has seen more than <c>patience</c> reports in a row without an improvement
/// beyond <c>threshold</c>; then it is multiplied by <c>factor</c> (never below <c>min_lr</c>, and not
/// at all if the drop would be at most <c>eps</c>), and the next <c>cooldown</c> reports do not count.
/// Unlike the other schedules the rate depends on the reports, not on the step, so a resumed run
/// must restore <see cref="SaveState"/>'s record. There is no warmup, as in transformers.
/// </summary>
public sealed class ReduceOnPlateauSchedule : ILearningRateSchedule
{
    private readonly ReduceOnPlateauOptions p;
    private double rate;
    private double best;
    private int badReports;
    private int cooldownCounter;
    private long reports;

    internal ReduceOnPlateauSchedule(ScheduleOptions resolved)
    {
        Options = resolved;
        p = resolved.Plateau;
        rate = resolved.LearningRate;
        best = Worst;
    }

    /// <inheritdoc/>
    public ScheduleOptions Options { get; }

    /// <summary>The rate in force now.</summary>
    public double CurrentRate => rate;

    private double Worst => p.Mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;

    /// <summary>The current rate; the step does not matter to this schedule.</summary>
    /// <param name="step">The optimizer step (0-based); only checked to be non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is negative.</exception>
    public double LearningRate(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return rate;
    }

    /// <summary>
    /// Feeds one evaluation of the monitored metric (usually the validation loss) and lowers the rate
    /// if it has plateaued. A NaN counts as no improvement, as in PyTorch.
    /// </summary>
    /// <param name="metric">The metric value; lower is better in <see cref="PlateauMode.Min"/>.</param>
    /// <returns>True if this report lowered the rate.</returns>
    public bool Report(double metric)
    {
        reports++;
        if (IsBetter(metric))
        {
            best = metric;
            badReports = 0;
        }
        else
        {
            badReports++;
        }

        if (cooldownCounter > 0)
        {
            cooldownCounter--;
            badReports = 0;
        }

        if (badReports <= p.Patience) return false;
        bool reduced = false;
        double newRate = Math.Max(rate * p.Factor, p.MinRate);
        if (rate - newRate > p.Eps)
        {
            rate = newRate;
            reduced = true;
        }
        cooldownCounter = p.Cooldown;
        badReports = 0;
        return reduced;
    }

    /// <summary>A snapshot of the mutable state for a checkpoint.</summary>
    /// <returns>A record that <see cref="RestoreState"/> accepts.</returns>
    public ReduceOnPlateauState SaveState() => new()
    {
        LearningRate = rate,
        Best = double.IsInfinity(best) ? null : best,
        BadReports = badReports,
        CooldownCounter = cooldownCounter,
        Reports = reports,
    };

    /// <summary>Continues from a snapshot taken by <see cref="SaveState"/>.</summary>
    /// <param name="state">The saved state.</param>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> is null.</exception>
    /// <exception cref="ArgumentException">The state is inconsistent: a non-positive or non-finite
    /// rate, negative counters, or a non-finite best value.</exception>
    public void RestoreState(ReduceOnPlateauState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!double.IsFinite(state.LearningRate) || state.LearningRate <= 0)
            throw new ArgumentException($"Saved plateau rate {state.LearningRate} is not a positive finite number.", nameof(state));
        if (state.BadReports < 0 || state.CooldownCounter < 0 || state.Reports < 0)
            throw new ArgumentException("Saved plateau counters must not be negative.", nameof(state));
        if (state.Best is { } b && !double.IsFinite(b))
            throw new ArgumentException($"Saved plateau best value {b} is not finite; use null for 'no report yet'.", nameof(state));
        rate = state.LearningRate;
        best = state.Best ?? Worst;
        badReports = state.BadReports;
        cooldownCounter = state.CooldownCounter;
        reports = state.Reports;
    }

    private bool IsBetter(double a) => (p.Mode, p.ThresholdMode) switch
    {
        (PlateauMode.Min, PlateauThresholdMode.Relative) => a < best * (1.0 - p.Threshold),
        (PlateauMode.Min, PlateauThresholdMode.Absolute) => a < best - p.Threshold,
        (PlateauMode.Max, PlateauThresholdMode.Relative) => a > best * (p.Threshold + 1.0),
        _ => a > best + p.Threshold,
    };
}
