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

    /// <summary>The smoothed loss (EMA, 0.98 decay, of every finite loss), not bias-corrected.</summary>
    public double SmoothedLoss { get; init; }

    /// <summary>Finite losses folded into <see cref="SmoothedLoss"/>.</summary>
    public long SmoothedSteps { get; init; }

    /// <summary>The lowest bias-corrected smoothed loss after the first MinWindow steps (NaN before).</summary>
    public double LowestSmoothedLoss { get; init; } = double.NaN;

    /// <summary>The smoothed loss after the first MinWindow steps (NaN before).</summary>
    public double StartSmoothedLoss { get; init; } = double.NaN;

    /// <summary>Steps in a row the smoothed loss has met the divergence test.</summary>
    public int DivergingRun { get; init; }

    /// <summary>Steps in a row with a vanishing gradient norm.</summary>
    public int ZeroGradientRun { get; init; }

    /// <summary>Whether the divergence event was already raised (once per run).</summary>
    public bool DivergenceWarned { get; init; }

    /// <summary>Whether the vanishing-gradient warning was already given (once per run).</summary>
    public bool ZeroGradientWarned { get; init; }
}
