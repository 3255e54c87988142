namespace MLNetLora.Training.Schedules;

/// <summary>
/// A learning-rate curve as a function of the optimizer step. The trainer asks for the rate of step
/// <c>s</c> (0-based) right before applying update <c>s</c>; a resumed run asks for the same step
/// numbers and therefore gets the same curve.
/// </summary>
public interface ILearningRateSchedule
{
    /// <summary>
    /// The fully resolved parameters of this curve (warmup in steps, every per-kind default filled in).
    /// Passing them to <see cref="LearningRateSchedules.Create"/> rebuilds an identical curve, so a
    /// checkpoint stores this record rather than the user's original options.
    /// </summary>
    ScheduleOptions Options { get; }

    /// <summary>The rate applied at optimizer step <paramref name="step"/> (0-based).</summary>
    /// <param name="step">The optimizer step, counting from 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is negative, or past the
    /// end of a schedule that is undefined there (one-cycle).</exception>
    double LearningRate(long step);
}
