namespace MLNetLora.Training.Schedules;

/// <summary>
/// <c>cosine_with_min_lr</c>: the cosine decay squeezed between the peak and a floor,
/// <c>max(0, cosine * (1 - min_ratio) + min_ratio)</c> (transformers'
/// <c>get_cosine_with_min_lr_schedule_with_warmup</c>, where an absolute <c>min_lr</c> becomes
/// <c>min_lr / peak</c>).
/// </summary>
internal sealed class CosineWithMinRateSchedule(ScheduleOptions resolved) : LambdaSchedule(resolved)
{
    private readonly double cycles = resolved.NumCycles!.Value;
    private readonly double minRatio = resolved.MinRateRatio!.Value;

    protected override double Lambda(long step)
    {
        if (InWarmup(step)) return Warmup(step);
        double progress = DecayProgress(step);
        double factor = 0.5 * (1.0 + Math.Cos(Math.PI * cycles * 2.0 * progress));
        factor = factor * (1 - minRatio) + minRatio;
        return Math.Max(0.0, factor);
    }
}
