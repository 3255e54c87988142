namespace MLNetLora.Training.Schedules;

/// <summary>
/// <c>inverse_sqrt</c>: warmup, then <c>1 / sqrt((step + timescale - warmup) / timescale)</c>, which is 1
/// at the end of warmup and halves every time the shifted step quadruples (transformers'
/// <c>get_inverse_sqrt_schedule</c>). It has no end point, so it needs no total step count.
/// </summary>
internal sealed class InverseSqrtSchedule(ScheduleOptions resolved) : LambdaSchedule(resolved)
{
    private readonly long timescale = resolved.Timescale!.Value;

    protected override double Lambda(long step)
    {
        if (InWarmup(step)) return Warmup(step);
        long shift = timescale - WarmupSteps;
        return 1.0 / Math.Sqrt((step + shift) / (double)timescale);
    }
}
