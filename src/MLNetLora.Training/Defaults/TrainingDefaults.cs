using MLNetLora.Training.Schedules;

namespace MLNetLora.Training.Defaults;

/// <summary>
/// The optimizer and schedule settings used when the user does not choose. Each value is what current
/// fine-tuning tools converge on; the reasons are on each member and in docs/learning-rate.md.
/// </summary>
public static class TrainingDefaults
{
    /// <summary>
    /// Adam-style rate scheduled as the peak: 2e-4 for LoRA and QLoRA, the most common starting point
    /// for adapters on Llama/Mistral-class models (Unsloth's default; tools span 1e-4 to 3e-4); 1e-5
    /// for full fine-tuning, because moving every weight at adapter rates overwrites what the model
    /// knew (reported 1e-3 runs produced incoherent text after one epoch).
    /// </summary>
    /// <param name="method">What is trained.</param>
    /// <returns>The default peak rate.</returns>
    /// <exception cref="ArgumentOutOfRangeException">Unknown <paramref name="method"/>.</exception>
    public static double LearningRate(FineTuneMethod method) => method switch
    {
        FineTuneMethod.Lora or FineTuneMethod.QLora => 2e-4,
        FineTuneMethod.Full => 1e-5,
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown fine-tuning method."),
    };

    /// <summary>
    /// The largest rate the learning-rate finder may suggest: 5e-4 for adapters (2.5× the default and
    /// half of the 1e-3 at which LoRA runs on 8B models are reported to spike) and 5e-5 for full
    /// fine-tuning (5× its default, still well under the rates that cause forgetting).
    /// </summary>
    /// <param name="method">What is trained.</param>
    /// <returns>The cap on a suggested rate.</returns>
    /// <exception cref="ArgumentOutOfRangeException">Unknown <paramref name="method"/>.</exception>
    public static double MaxSuggestedRate(FineTuneMethod method) => method switch
    {
        FineTuneMethod.Lora or FineTuneMethod.QLora => 5e-4,
        FineTuneMethod.Full => 5e-5,
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown fine-tuning method."),
    };

    /// <summary>
    /// Cosine decay to zero: it spends the early steps near the peak, where a fine-tune makes most of
    /// its progress, and the late steps at small rates that refine instead of bouncing around the
    /// minimum. It is the schedule most fine-tuning recipes pair with 2e-4.
    /// </summary>
    public const ScheduleKind Scheduler = ScheduleKind.Cosine;

    /// <summary>
    /// 5% of the optimizer steps warm up linearly from 0. Tools use 3% to 10%. At 3% a 200-step
    /// adapter run would warm up for only 6 steps, while Adam's moment estimates are still dominated by
    /// the first few batches; at 10% a short run spends a noticeable share of its budget below the peak.
    /// 5% gives 10 steps on a 200-step run and 50 on a 1,000-step run.
    /// </summary>
    public const double WarmupRatio = 0.05;

    /// <summary>
    /// Clip the global gradient norm at 1.0 (transformers' default and the common fine-tuning setting):
    /// it leaves ordinary steps alone and caps the occasional huge gradient of an odd batch, which would
    /// otherwise turn into a loss spike.
    /// </summary>
    public const double MaxGradNorm = 1.0;

    /// <summary>
    /// No weight decay. For LoRA, decay on the factors pulls the adapter towards zero, i.e. towards the
    /// unmodified base model, which fights the fine-tune without a regularizing benefit on short runs;
    /// the frozen base already anchors the model. For full fine-tuning it matches transformers' default.
    /// </summary>
    public const double WeightDecay = 0.0;

    /// <summary>AdamW's first-moment decay, 0.9: PyTorch's and transformers' default.</summary>
    public const double AdamBeta1 = 0.9;

    /// <summary>AdamW's second-moment decay, 0.999: PyTorch's and transformers' default.</summary>
    public const double AdamBeta2 = 0.999;

    /// <summary>AdamW's epsilon, 1e-8: PyTorch's and transformers' default.</summary>
    public const double AdamEpsilon = 1e-8;

    /// <summary>The batch the default rates are quoted for: 16 sequences per optimizer step.</summary>
    public const int ReferenceBatchSequences = 16;

    /// <summary>Sequence length assumed when a batch is given in tokens: the reference is 16 × 512 = 8,192 tokens.</summary>
    public const int ReferenceSequenceLength = 512;

    /// <summary>The LoRA rank the adapter default is quoted for (with <see cref="ReferenceLoraAlpha"/>, scale alpha/r = 1).</summary>
    public const int ReferenceLoraRank = 16;

    /// <summary>The LoRA alpha the adapter default is quoted for.</summary>
    public const double ReferenceLoraAlpha = 16;

    /// <summary>The batch-size adjustment never moves the rate by more than this factor either way.</summary>
    public const double MaxBatchScale = 2.0;

    /// <summary>
    /// The default schedule for a run: <see cref="Scheduler"/> at <see cref="LearningRate"/> (or
    /// <paramref name="peakRate"/>) with <see cref="WarmupRatio"/>.
    /// </summary>
    /// <param name="method">What is trained.</param>
    /// <param name="totalSteps">Optimizer steps in the run; must be positive.</param>
    /// <param name="peakRate">A rate chosen elsewhere (the user, the finder, the advisor); null for the default.</param>
    /// <returns>Options for <see cref="LearningRateSchedules.Create"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="totalSteps"/> is not positive, or
    /// <paramref name="method"/> is unknown.</exception>
    public static ScheduleOptions Schedule(FineTuneMethod method, long totalSteps, double? peakRate = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        return new ScheduleOptions
        {
            Kind = Scheduler,
            PeakRate = peakRate ?? LearningRate(method),
            TotalSteps = totalSteps,
            WarmupRatio = WarmupRatio,
        };
    }
}
