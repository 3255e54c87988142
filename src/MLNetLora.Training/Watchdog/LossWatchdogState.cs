namespace MLNetLora.Training.Watchdog;

/// <summary>The memory of a <see cref="LossWatchdog"/>, so a resumed run judges its first steps against the same window.</summary>
public sealed record LossWatchdogState
{
    /// <summary>Accepted losses, oldest first.</summary>
    public double[] History { get; init; } = [];

    /// <summary>Anomalous steps in a row up to now.</summary>
    public int ConsecutiveAnomalies { get; init; }

    /// <summary>The highest rate observed so far.</summary>
    public double MaxRateSeen { get; init; }

    /// <summary>Whether the flat-loss warning was already given (it is given once per run).</summary>
    public bool FlatWarned { get; init; }
}
