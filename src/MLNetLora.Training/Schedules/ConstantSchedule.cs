namespace MLNetLora.Training.Schedules;

/// <summary><c>constant</c>: the peak rate at every step (transformers' <c>get_constant_schedule</c>).</summary>
internal sealed class ConstantSchedule(ScheduleOptions resolved) : LambdaSchedule(resolved)
{
    protected override double Lambda(long step) => 1.0;
}
