namespace MLNetLora.Training.Schedules;

/// <summary>
/// <c>cosine</c>: warmup, then <c>max(0, 0.5 * (1 + cos(pi * num_cycles * 2 * progress)))</c>
/// (transformers' <c>get_cosine_schedule_with_warmup</c>). Past the last step the formula keeps
/// going, as in transformers: with the default half wave the rate rises again.
/// </summary>
internal sealed class CosineSchedule(ScheduleOptions resolved) : LambdaSchedule(resolved)
{
    private readonly double cycles = resolved.NumCycles!.Value;

    protected override double Lambda(long step)
    {
        if (InWarmup(step)) return Warmup(step);
        double progress = DecayProgress(step);
        return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * cycles * 2.0 * progress)));
    }
}
