namespace MLNetLora.Training.Watchdog;

/// <summary>What the trainer must do with the step it just reported.</summary>
public enum WatchdogAction
{
    /// <summary>Apply the update as usual.</summary>
    Continue,

    /// <summary>Do not apply this step's update (zero the gradients and move on to the next batch).</summary>
    SkipUpdate,

    /// <summary>Restore the last checkpoint and multiply the rate by <see cref="WatchdogDecision.RateFactor"/> from then on.</summary>
    RollbackAndLowerRate,

    /// <summary>Stop training; <see cref="WatchdogDecision.Message"/> says why and what to change.</summary>
    Stop,
}
