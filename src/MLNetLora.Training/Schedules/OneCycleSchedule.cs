namespace MLNetLora.Training.Schedules;

/// <summary>
/// <c>one_cycle</c> with PyTorch <c>OneCycleLR</c>'s semantics: the rate starts at
/// <c>peak / div_factor</c>, anneals to the peak by step <c>pct_start * total - 1</c>, then anneals to
/// <c>start / final_div_factor</c> at step <c>total - 1</c> (with <c>three_phase</c>, it first returns to
/// the start rate at step <c>2 * pct_start * total - 2</c>). Momentum cycling is not part of this
/// schedule. The warmup options are ignored: <c>pct_start</c> is this schedule's warmup.
/// </summary>
internal sealed class OneCycleSchedule : ILearningRateSchedule
{
    private readonly (double EndStep, double StartRate, double EndRate)[] phases;
    private readonly OneCycleAnneal anneal;
    private readonly long totalSteps;

    public OneCycleSchedule(ScheduleOptions resolved)
    {
        Options = resolved;
        var o = resolved.OneCycle;
        totalSteps = resolved.TotalSteps;
        anneal = o.Anneal;
        double maxRate = resolved.LearningRate;
        double initial = maxRate / o.DivFactor;
        double min = initial / o.FinalDivFactor;
        // End steps are doubles computed exactly as PyTorch does (0.3 * 100 - 1 is 29.000000000000004).
        phases = o.ThreePhase
            ?
            [
                (o.PctStart * totalSteps - 1, initial, maxRate),
                (2 * o.PctStart * totalSteps - 2, maxRate, initial),
                (totalSteps - 1, initial, min),
            ]
            :
            [
                (o.PctStart * totalSteps - 1, initial, maxRate),
                (totalSteps - 1, maxRate, min),
            ];
        double start = 0.0;
        foreach (var p in phases)
        {
            // PyTorch raises ZeroDivisionError only when a step lands in such a phase; refusing the
            // options up front gives the user the reason before training starts.
            if (p.EndStep == start)
                throw new ArgumentException(
                    $"one_cycle: a phase ends at step {p.EndStep} where it starts; pct_start {o.PctStart} with {totalSteps} " +
                    "total steps leaves no room for it. Change pct_start or the number of steps.", nameof(resolved));
            start = p.EndStep;
        }
    }

    public ScheduleOptions Options { get; }

    public double LearningRate(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        // PyTorch accepts exactly one step past the cycle (the scheduler.step() after the last batch).
        ArgumentOutOfRangeException.ThrowIfGreaterThan(step, totalSteps);
        double startStep = 0.0;
        for (int i = 0; i < phases.Length; i++)
        {
            var (endStep, startRate, endRate) = phases[i];
            if (step <= endStep || i == phases.Length - 1)
            {
                double pct = (step - startStep) / (endStep - startStep);
                return anneal == OneCycleAnneal.Cosine
                    ? endRate + (startRate - endRate) / 2.0 * (Math.Cos(Math.PI * pct) + 1)
                    : (endRate - startRate) * pct + startRate;
            }
            startStep = endStep;
        }
        throw new InvalidOperationException("one_cycle has no phases.");
    }
}
