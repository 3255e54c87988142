namespace MLNetLora.Training.Watchdog;

/// <summary>What the trainer saw at one optimizer step, fed to <see cref="LossWatchdog.Observe"/> before the update is applied.</summary>
/// <param name="Step">The optimizer step (0-based).</param>
/// <param name="Loss">The training loss of this step's batch.</param>
/// <param name="GradNorm">The global gradient norm before clipping.</param>
/// <param name="LearningRate">The rate this step would be applied with.</param>
public readonly record struct StepObservation(long Step, double Loss, double GradNorm, double LearningRate);
