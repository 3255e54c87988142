namespace MLNetLora.Training.Schedules;

/// <summary>
/// <c>warmup_stable_decay</c> (transformers' <c>get_wsd_schedule</c>): warmup from <c>min_ratio</c> to 1,
/// a stable phase at the peak, a decay of <c>decay_steps</c> steps back to <c>min_ratio</c>, and
/// <c>min_ratio</c> afterwards. Both ramps are blended with the floor:
/// <c>max(0, shape * (1 - min_ratio) + min_ratio)</c>.
/// </summary>
internal sealed class WarmupStableDecaySchedule(ScheduleOptions resolved) : LambdaSchedule(resolved)
{
    private readonly long stable = resolved.StableSteps!.Value;
    private readonly long decay = resolved.DecaySteps!.Value;
    private readonly double minRatio = resolved.MinRateRatio!.Value;
    private readonly double cycles = resolved.NumCycles!.Value;
    private readonly DecayShape decayShape = resolved.DecayShape;

    protected override double Lambda(long step)
    {
        if (InWarmup(step)) return Blend(Warmup(step));
        if (step < WarmupSteps + stable) return 1.0;
        if (step < WarmupSteps + stable + decay)
        {
            double progress = (step - WarmupSteps - stable) / (double)Math.Max(1L, decay);
            double factor = decayShape switch
            {
                DecayShape.Linear => 1.0 - progress,
                DecayShape.Cosine => 0.5 * (1.0 + Math.Cos(Math.PI * cycles * 2.0 * progress)),
                DecayShape.OneMinusSqrt => 1.0 - Math.Sqrt(progress),
                _ => throw new InvalidOperationException($"Unknown decay shape {decayShape}."),
            };
            return Blend(factor);
        }
        return minRatio;
    }

    private double Blend(double factor) => Math.Max(0.0, factor * (1.0 - minRatio) + minRatio);
}
