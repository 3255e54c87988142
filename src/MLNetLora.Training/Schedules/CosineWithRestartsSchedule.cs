namespace MLNetLora.Training.Schedules;

/// <summary>
/// <c>cosine_with_restarts</c>: warmup, then <c>num_cycles</c> half-cosine decays, each starting again
/// at the peak: <c>0.5 * (1 + cos(pi * ((num_cycles * progress) % 1)))</c>, and zero once progress
/// reaches 1 (transformers' <c>get_cosine_with_hard_restarts_schedule_with_warmup</c>).
/// </summary>
internal sealed class CosineWithRestartsSchedule(ScheduleOptions resolved) : LambdaSchedule(resolved)
{
    private readonly double cycles = resolved.NumCycles!.Value;

    protected override double Lambda(long step)
    {
        if (InWarmup(step)) return Warmup(step);
        double progress = DecayProgress(step);
        if (progress >= 1.0) return 0.0;
        // C#'s % on positive doubles is fmod, which equals Python's float % for these operands.
        return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * (cycles * progress % 1.0))));
    }
}
