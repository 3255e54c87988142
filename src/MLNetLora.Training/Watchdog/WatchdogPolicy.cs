namespace MLNetLora.Training.Watchdog;

/// <summary>What the user wants done when a step is anomalous (a NaN/Inf or a loss spike).</summary>
public enum WatchdogPolicy
{
    /// <summary>Drop this step's update and carry on; right for isolated bad batches.</summary>
    SkipUpdate,

    /// <summary>Go back to the last checkpoint and continue with a lower rate; right when the rate is the cause.</summary>
    RollbackAndLowerRate,

    /// <summary>Stop training with a message; right for unattended runs that should not burn compute.</summary>
    Stop,
}
