namespace MLNetLora.Training.Watchdog;

/// <summary>
/// One thing the watchdog noticed, for the training log and the metrics file. The loss and gradient
/// norm may be NaN or infinite; a JSON writer needs <c>JsonNumberHandling.AllowNamedFloatingPointLiterals</c>.
/// </summary>
public sealed record WatchdogEvent
{
    /// <summary>The optimizer step it happened at.</summary>
    public required long Step { get; init; }

    /// <summary>What was noticed.</summary>
    public required WatchdogEventKind Kind { get; init; }

    /// <summary>What the watchdog asked the trainer to do (<see cref="WatchdogAction.Continue"/> for warnings).</summary>
    public required WatchdogAction Action { get; init; }

    /// <summary>What happened and what to change, in words.</summary>
    public required string Message { get; init; }

    /// <summary>The step's loss.</summary>
    public required double Loss { get; init; }

    /// <summary>The step's gradient norm.</summary>
    public required double GradNorm { get; init; }

    /// <summary>The step's rate.</summary>
    public required double LearningRate { get; init; }

    /// <summary>For spikes: how many (floored) standard deviations the loss sat above the window mean.</summary>
    public double? ZScore { get; init; }

    /// <summary>For spikes: the mean of the recent window; for flat-loss warnings: the mean at the start of the window.</summary>
    public double? WindowMean { get; init; }

    /// <summary>For spikes: the window's standard deviation before flooring.</summary>
    public double? WindowStd { get; init; }

    /// <summary>For flat-loss warnings: the relative change of the loss across the window.</summary>
    public double? RelativeChange { get; init; }
}
