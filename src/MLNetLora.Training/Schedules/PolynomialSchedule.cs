namespace MLNetLora.Training.Schedules;

/// <summary>
/// <c>polynomial</c>: warmup, then <c>(peak - end) * (1 - (step - warmup) / (total - warmup))^power + end</c>,
/// and <c>end</c> after the last step (transformers' <c>get_polynomial_decay_schedule_with_warmup</c>).
/// </summary>
internal sealed class PolynomialSchedule(ScheduleOptions resolved) : LambdaSchedule(resolved)
{
    private readonly double lrInit = resolved.LearningRate;
    private readonly double lrEnd = resolved.PolynomialEndRate;
    private readonly double power = resolved.PolynomialPower;

    protected override double Lambda(long step)
    {
        if (InWarmup(step)) return Warmup(step);
        // Dividing by the peak here and multiplying back in LearningRate is what LambdaLR does; it
        // keeps the rounding identical to transformers.
        if (step > TotalSteps) return lrEnd / lrInit;
        double lrRange = lrInit - lrEnd;
        long decaySteps = TotalSteps - WarmupSteps;
        double pctRemaining = 1 - (step - WarmupSteps) / (double)decaySteps;
        double decay = lrRange * Math.Pow(pctRemaining, power) + lrEnd;
        return decay / lrInit;
    }
}
