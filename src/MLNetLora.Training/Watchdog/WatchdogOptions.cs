namespace MLNetLora.Training.Watchdog;

/// <summary>Thresholds and policy of a <see cref="LossWatchdog"/>. The defaults suit per-step training losses of language models.</summary>
public sealed record WatchdogOptions
{
    /// <summary>What to do on a NaN/Inf or a spike. Default <see cref="WatchdogPolicy.SkipUpdate"/>.</summary>
    public WatchdogPolicy Policy { get; init; } = WatchdogPolicy.SkipUpdate;

    /// <summary>Recent accepted losses the spike test compares against. Default 100.</summary>
    public int SpikeWindow { get; init; } = 100;

    /// <summary>Accepted losses needed before spikes are judged; the first steps are too noisy to judge. Default 20.</summary>
    public int MinWindow { get; init; } = 20;

    /// <summary>
    /// A loss more than this many standard deviations above the window mean is a spike. Default 6:
    /// per-batch losses are heavy-tailed, and a hard batch at z 3 to 4 is normal.
    /// </summary>
    public double ZThreshold { get; init; } = 6.0;

    /// <summary>
    /// The standard deviation is floored at this fraction of the window mean, so a near-constant window
    /// does not turn a tiny wobble into a huge z. Default 0.01.
    /// </summary>
    public double MinRelativeStd { get; init; } = 0.01;

    /// <summary>
    /// The standard deviation is also floored at this many nats. When the loss is near zero (a
    /// classifier that is mostly right), one misclassified row moves the batch loss by far more than
    /// the window's spread without anything being wrong; a spike has to be large in absolute terms
    /// too. Default 0.05.
    /// </summary>
    public double MinAbsoluteStd { get; init; } = 0.05;

    /// <summary>The rate multiplier of <see cref="WatchdogPolicy.RollbackAndLowerRate"/> and of the advice in messages. Default 0.3.</summary>
    public double LowerRateFactor { get; init; } = 0.3;

    /// <summary>After this many anomalous steps in a row the watchdog stops, whatever the policy. Default 5.</summary>
    public int MaxConsecutiveAnomalies { get; init; } = 5;

    /// <summary>Accepted losses the flat-loss test looks at. Default 200.</summary>
    public int FlatWindow { get; init; } = 200;

    /// <summary>The loss is flat when the mean of the window's last quarter differs from its first quarter by less than this fraction. Default 0.005.</summary>
    public double FlatRelativeChange { get; init; } = 0.005;

    /// <summary>
    /// A flat loss is blamed on the rate only when the run's peak rate is below this. Default 1e-5,
    /// below every default peak rate, so the tail of a decaying schedule is never blamed.
    /// </summary>
    public double FlatRateThreshold { get; init; } = 1e-5;

    /// <summary>
    /// The run diverges when the smoothed loss (an EMA over every finite loss, 0.98 decay) has, for
    /// <see cref="MinWindow"/> steps in a row, exceeded this multiple of its lowest value and its value
    /// after the first MinWindow steps (worse than where the run started). Unlike the spike test it works
    /// for heavy-tailed classification losses, where one batch is not evidence. Default 3; infinity disables.
    /// </summary>
    public double DivergenceFactor { get; init; } = 3.0;

    /// <summary>Steps in a row with a gradient norm below 1e-12 before the vanishing-gradient warning. Default 25.</summary>
    public int ZeroGradientSteps { get; init; } = 25;

    /// <summary>The schedule's peak rate, if known; used for advice and for the flat test. Otherwise the highest rate seen so far is used.</summary>
    public double? LearningRate { get; init; }
}
