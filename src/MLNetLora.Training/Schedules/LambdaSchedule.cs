namespace MLNetLora.Training.Schedules;

/// <summary>
/// Base of the transformers-style schedules: the rate is <c>peak * lambda(step)</c>, computed in that
/// order because <c>torch.optim.lr_scheduler.LambdaLR</c> multiplies the base rate by the lambda, and
/// reproducing the curve to the last bit needs the same rounding.
/// </summary>
internal abstract class LambdaSchedule : ILearningRateSchedule
{
    protected LambdaSchedule(ScheduleOptions resolved)
    {
        Options = resolved;
        WarmupSteps = resolved.WarmupSteps ?? 0;
        TotalSteps = resolved.TotalSteps;
    }

    public ScheduleOptions Options { get; }

    protected long WarmupSteps { get; }

    protected long TotalSteps { get; }

    public double LearningRate(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return Options.LearningRate * Lambda(step);
    }

    /// <summary>The multiplier of the peak rate at <paramref name="step"/> (non-negative).</summary>
    protected abstract double Lambda(long step);

    protected bool InWarmup(long step) => step < WarmupSteps;

    protected double Warmup(long step) =>
        WarmupCurve.Multiplier(Options.WarmupShape, step, WarmupSteps, Options.ExponentialWarmupStart);

    /// <summary>transformers' decay progress: 0 at the end of warmup, 1 at the last step.</summary>
    protected double DecayProgress(long step) =>
        (step - WarmupSteps) / (double)Math.Max(1L, TotalSteps - WarmupSteps);
}
