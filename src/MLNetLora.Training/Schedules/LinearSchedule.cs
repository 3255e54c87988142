namespace MLNetLora.Training.Schedules;

/// <summary>
/// <c>linear</c>: warmup, then <c>max(0, (total - step) / max(1, total - warmup))</c>
/// (transformers' <c>get_linear_schedule_with_warmup</c>); zero from the last step on.
/// </summary>
internal sealed class LinearSchedule(ScheduleOptions resolved) : LambdaSchedule(resolved)
{
    protected override double Lambda(long step)
    {
        if (InWarmup(step)) return Warmup(step);
        return Math.Max(0.0, (TotalSteps - step) / (double)Math.Max(1L, TotalSteps - WarmupSteps));
    }
}
