using MLNetLora.Training.Defaults;

namespace MLNetLora.Training.LrFinder;

/// <summary>The sweep, smoothing, stopping and suggestion settings of a <see cref="LearningRateFinder"/>.</summary>
public sealed record LrFinderOptions
{
    /// <summary>The rate of the first sweep step. Default 1e-7, far below any useful fine-tuning rate.</summary>
    public double MinRate { get; init; } = 1e-7;

    /// <summary>The rate of the last sweep step. Default 1e-1, far above where fine-tuning diverges.</summary>
    public double MaxRate { get; init; } = 1e-1;

    /// <summary>Sweep steps, each one batch. Default 100 (0.06 decades per step with the default range).</summary>
    public int Steps { get; init; } = 100;

    /// <summary>
    /// The exponential-smoothing factor of the loss. Default 0.9. The smoothed curve lags the raw one by
    /// about beta/(1-beta) steps; at 0.9 that is 9 steps (half a decade of rate), while fastai's 0.98
    /// would lag 49 steps, half of a 100-step sweep, and push the suggestion far to the right.
    /// </summary>
    public double SmoothingBeta { get; init; } = 0.9;

    /// <summary>Leading points left out when reading the steepest slope (fastai's skip_start); null = a tenth of <see cref="Steps"/>.</summary>
    public int? SkipStart { get; init; }

    /// <summary>
    /// The least relative fall of the smoothed loss (first point read to minimum) that counts as a descent; below it the
    /// reason says the suggestion is a weak guess. Default 0.05 (5%).
    /// </summary>
    public double ClearDescent { get; init; } = 0.05;

    /// <summary>The sweep stops when the smoothed loss exceeds this multiple of its best value. Default 4.</summary>
    public double DivergenceFactor { get; init; } = 4.0;

    /// <summary>
    /// The steepest-descent rate is divided by this. Default 10: the range test was designed for SGD
    /// training from scratch, and on pretrained transformers with Adam its steepest point sits where a
    /// few batches improve quickly but a whole run spikes or forgets; the smoothing lag points higher still.
    /// </summary>
    public double SafetyFactor { get; init; } = 10.0;

    /// <summary>The suggestion never exceeds this. Default: <see cref="TrainingDefaults.MaxSuggestedRate"/> for LoRA.</summary>
    public double MaxSuggestedRate { get; init; } = TrainingDefaults.MaxSuggestedRate(FineTuneMethod.Lora);

    /// <summary>Default options with the cap for <paramref name="method"/>.</summary>
    /// <param name="method">What is trained.</param>
    /// <returns>The options.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="method"/> is unknown.</exception>
    public static LrFinderOptions For(FineTuneMethod method) => new() { MaxSuggestedRate = TrainingDefaults.MaxSuggestedRate(method) };
}
