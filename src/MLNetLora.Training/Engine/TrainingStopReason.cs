namespace MLNetLora.Training.Engine;

/// <summary>Why a training run ended; <see cref="TrainingResult.StopMessage"/> says it in words.</summary>
public enum TrainingStopReason
{
    /// <summary>Every planned epoch ran.</summary>
    Completed,

    /// <summary><see cref="TrainerOptions.MaxSteps"/> optimizer steps ran.</summary>
    MaxSteps,

    /// <summary>The validation loss stopped improving for <see cref="TrainerOptions.EarlyStoppingPatience"/> evaluations.</summary>
    EarlyStopping,

    /// <summary>The cancellation token was cancelled; a checkpoint was written when there is an output folder.</summary>
    Cancelled,

    /// <summary>The loss watchdog's policy (or too many anomalies in a row) stopped the run.</summary>
    WatchdogStop,

    /// <summary>A file of the run (metrics, checkpoint, adapter) could not be written, e.g. the disk is full; the run stopped and kept its last complete checkpoint.</summary>
    WriteFailed,
}
