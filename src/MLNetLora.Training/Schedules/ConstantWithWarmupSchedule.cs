namespace MLNetLora.Training.Schedules;

/// <summary><c>constant_with_warmup</c>: warmup, then the peak (transformers' <c>get_constant_schedule_with_warmup</c>).</summary>
internal sealed class ConstantWithWarmupSchedule(ScheduleOptions resolved) : LambdaSchedule(resolved)
{
    protected override double Lambda(long step) => InWarmup(step) ? Warmup(step) : 1.0;
}
