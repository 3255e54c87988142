namespace MLNetLora.Training.Defaults;

/// <summary>The rate <see cref="LearningRateAdvisor"/> chose, the numbers behind it and a sentence for the log.</summary>
public sealed record LearningRateRecommendation
{
    /// <summary>The peak rate to train with.</summary>
    public required double Rate { get; init; }

    /// <summary>The method's default before any adjustment (<see cref="TrainingDefaults.LearningRate"/>).</summary>
    public required double DefaultRate { get; init; }

    /// <summary>The batch-size multiplier applied to the default, in [1/2, 2].</summary>
    public required double BatchScale { get; init; }

    /// <summary>
    /// The adapter's update multiplier: alpha/r, or alpha/sqrt(r) with rsLoRA; null for full fine-tuning.
    /// It is reported, not folded into <see cref="Rate"/>.
    /// </summary>
    public double? AdapterScale { get; init; }

    /// <summary>What was chosen and why, in words for the training log.</summary>
    public required string Explanation { get; init; }
}
