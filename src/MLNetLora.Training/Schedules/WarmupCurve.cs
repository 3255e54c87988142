namespace MLNetLora.Training.Schedules;

/// <summary>The warmup multiplier shared by every schedule that has a warmup phase.</summary>
internal static class WarmupCurve
{
    /// <summary>The multiplier at <paramref name="step"/>, which must be below <paramref name="warmupSteps"/>.</summary>
    public static double Multiplier(WarmupShape shape, long step, long warmupSteps, double exponentialStart)
    {
        // transformers guards the division with max(1, warmup) even though step < warmup implies warmup >= 1.
        double progress = step / (double)Math.Max(1L, warmupSteps);
        return shape switch
        {
            WarmupShape.Linear => progress,
            WarmupShape.Exponential => Math.Pow(exponentialStart, 1.0 - progress),
            WarmupShape.Cosine => 0.5 * (1.0 - Math.Cos(Math.PI * progress)),
            WarmupShape.OneMinusSqrt => 1.0 - Math.Sqrt(1.0 - progress),
            _ => throw new ArgumentOutOfRangeException(nameof(shape), shape, "Unknown warmup shape."),
        };
    }
}
