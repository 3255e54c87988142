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

    /// <summary>
    /// Three passes over the data: transformers' <c>num_train_epochs</c> default, so a run set up from a
    /// Python recipe means the same here. One pass (the CLI's old default) leaves the few-hundred-row
    /// classification sets that ML.NET users bring clearly under-trained; on a large causal-LM corpus
    /// set <see cref="Engine.TrainerOptions.MaxSteps"/> or fewer epochs.
    /// </summary>
    public const int Epochs = 3;

    /// <summary>
    /// Eight sequences per micro-batch: transformers' <c>per_device_train_batch_size</c> default. Four
    /// (the CLI's old default) halves GPU throughput for nothing on the 0.1B-3B models LoRA is used on
    /// here, while 8 × <see cref="MaxLength"/> tokens still fits a CPU run in a few GiB.
    /// </summary>
    public const int BatchSize = 8;

    /// <summary>
    /// 512 tokens per sequence: the length the default rates are quoted for
    /// (<see cref="ReferenceSequenceLength"/>). 256 (the ML.NET layer's old default) cuts a typical
    /// e-mail or instruction/response pair in half; longer runs set it explicitly.
    /// </summary>
    public const int MaxLength = 512;

    /// <summary>LoRA rank 8: PEFT's <c>LoraConfig</c> default and the most common choice.</summary>
    public const int LoraRank = 8;

    /// <summary>LoRA alpha 16 (scale alpha/r = 2): the usual "alpha = 2 × rank" pairing.</summary>
    public const double LoraAlpha = 16;

    /// <summary>
    /// Dropout 0.05 on the LoRA input: the QLoRA paper's value for models up to 13B and what most
    /// recipes use. Adapters are usually trained on small data sets, where it measurably reduces
    /// overfitting; it costs one mask per adapted linear. (PEFT's own default is 0.)
    /// </summary>
    public const double LoraDropout = 0.05;

    /// <summary>The run seed when none is given. 42, like transformers' <c>TrainingArguments.seed</c>.</summary>
    public const ulong Seed = 42;

    /// <summary>Weight decay of a classification head (a fresh, full-rank matrix, unlike the LoRA factors): 0.01.</summary>
    public const double HeadWeightDecay = 0.01;

    /// <summary>
    /// <c>warmup_stable_decay</c> without explicit decay or stable steps decays over the last 10% of the
    /// run: the split the WSD (MiniCPM) paper found as good as a tuned cosine.
    /// </summary>
    public const double WsdDecayFraction = 0.1;

    /// <summary>
    /// <c>cosine_with_min_lr</c> without a floor decays to 10% of the peak: the floor of the Chinchilla
    /// and Llama pre-training recipes, which transformers' examples copy.
    /// </summary>
    public const double MinRateRatio = 0.1;

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
            LearningRate = peakRate ?? LearningRate(method),
            TotalSteps = totalSteps,
            WarmupRatio = WarmupRatio,
        };
    }
}
