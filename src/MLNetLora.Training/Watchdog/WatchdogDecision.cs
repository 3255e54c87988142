namespace MLNetLora.Training.Watchdog;

/// <summary>The watchdog's verdict on one step.</summary>
public sealed record WatchdogDecision
{
    /// <summary>What the trainer must do.</summary>
    public required WatchdogAction Action { get; init; }

    /// <summary>For <see cref="WatchdogAction.RollbackAndLowerRate"/>: multiply the rate by this (below 1); otherwise 1.</summary>
    public double RateFactor { get; init; } = 1.0;

    /// <summary>For actions other than <see cref="WatchdogAction.Continue"/>: why, and what to change.</summary>
    public string? Message { get; init; }

    /// <summary>Everything noticed at this step, warnings included (also appended to <see cref="LossWatchdog.Events"/>).</summary>
    public IReadOnlyList<WatchdogEvent> Events { get; init; } = [];
}
