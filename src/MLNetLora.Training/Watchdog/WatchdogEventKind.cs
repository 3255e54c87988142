namespace MLNetLora.Training.Watchdog;

/// <summary>What the watchdog noticed.</summary>
public enum WatchdogEventKind
{
    /// <summary>The loss was NaN or infinite.</summary>
    NonFiniteLoss,

    /// <summary>The gradient norm was NaN or infinite while the loss was finite.</summary>
    NonFiniteGradNorm,

    /// <summary>The loss jumped far above the recent window (by z-score).</summary>
    LossSpike,

    /// <summary>Too many anomalous steps in a row; the watchdog stops whatever the policy.</summary>
    RepeatedAnomalies,

    /// <summary>A warning: the loss has been flat while the rate was tiny, so the rate is probably too low.</summary>
    RateTooLow,

    /// <summary>The smoothed loss rose far above its lowest value: the run is diverging (a rate too high), even where single batches look fine.</summary>
    Divergence,

    /// <summary>A warning: the gradient norm has been zero (or vanishingly small) for many steps, so nothing is learning.</summary>
    VanishingGradient,
}
