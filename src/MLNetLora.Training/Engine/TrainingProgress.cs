namespace MLNetLora.Training.Engine;

/// <summary>One report per optimizer step, for progress bars and live charts.</summary>
/// <param name="Step">Optimizer steps done (1-based).</param>
/// <param name="TotalSteps">Planned steps.</param>
/// <param name="Epoch">Fractional epoch reached.</param>
/// <param name="Loss">This step's mean loss, before its update.</param>
/// <param name="SmoothedLoss">Exponential moving average of the loss (bias-corrected).</param>
/// <param name="LearningRate">The rate this step applied.</param>
/// <param name="GradNorm">Global gradient norm before clipping.</param>
/// <param name="TokensPerSecond">Real (unpadded) tokens processed per second in this step.</param>
/// <param name="Elapsed">Wall time since training started (this session).</param>
/// <param name="Eta">Estimated time to finish.</param>
/// <param name="MemoryBytes">Process working set (host memory), as a proxy for memory pressure.</param>
/// <param name="Skipped">The watchdog skipped this update.</param>
public sealed record TrainingProgress(long Step, long TotalSteps, double Epoch, double Loss, double SmoothedLoss,
    double LearningRate, double GradNorm, double TokensPerSecond, TimeSpan Elapsed, TimeSpan Eta, long MemoryBytes, bool Skipped);

/// <summary>An evaluation's results.</summary>
/// <param name="Step">Optimizer step at which it ran.</param>
/// <param name="Epoch">Fractional epoch.</param>
/// <param name="Loss">Mean loss over the evaluation set (token-weighted for causal LM).</param>
/// <param name="Accuracy">Classification accuracy, when classifying.</param>
public sealed record EvaluationResult(long Step, double Epoch, double Loss, double? Accuracy)
{
    /// <summary>exp(loss).</summary>
    public double Perplexity => Math.Exp(Loss);
}

/// <summary>How a training run ended.</summary>
/// <param name="Steps">Optimizer steps completed.</param>
/// <param name="FinalLoss">Last step's loss.</param>
/// <param name="Evaluations">Every evaluation, in order.</param>
/// <param name="BestEvalLoss">Best evaluation loss, if any evaluation ran.</param>
/// <param name="StopReason">Why the run ended.</param>
/// <param name="StopMessage">The same in words, with the numbers behind it (for logs).</param>
/// <param name="LastCheckpoint">Folder of the last checkpoint written, if any.</param>
public sealed record TrainingResult(long Steps, double FinalLoss, IReadOnlyList<EvaluationResult> Evaluations,
    double? BestEvalLoss, TrainingStopReason StopReason, string StopMessage, string? LastCheckpoint)
{
    /// <summary>Whether cancellation ended the run.</summary>
    public bool Cancelled => StopReason == TrainingStopReason.Cancelled;

    /// <summary>The bias-corrected moving average of the training loss at the end (one batch's loss, <see cref="FinalLoss"/>, is noisy).</summary>
    public double SmoothedLoss { get; init; } = double.NaN;

    /// <summary>The watchdog's warnings about the run as a whole (divergence, a vanishing gradient), which the stop message mentions.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
