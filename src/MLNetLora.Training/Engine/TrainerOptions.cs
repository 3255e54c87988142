using MLNetLora.LibTorch;
using MLNetLora.Models.Lora;
using MLNetLora.Training.Data;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Schedules;
using MLNetLora.Training.Watchdog;

namespace MLNetLora.Training.Engine;

/// <summary>
/// Every setting of a training run, and the one place their defaults, checks and meaning live. The
/// CLI parses its flags into it, the ML.NET options map onto it, the samples build it. The learning
/// rate is first-class: leave <see cref="LearningRate"/> null to get the method's default (LoRA 2e-4),
/// adjusted for the batch size and explained in the log; <see cref="ResolveSchedule"/> turns the rate,
/// schedule kind, warmup and per-kind parameters into the exact curve the optimizer will follow.
/// Defaults are <see cref="TrainingDefaults"/>' and are listed in docs/training.md.
/// </summary>
public sealed partial record TrainerOptions
{
    /// <summary>Causal LM (default) or classification.</summary>
    public TrainingTask Task { get; init; } = TrainingTask.CausalLm;

    /// <summary>
    /// What is trained, chosen by the memory at hand: <see cref="FineTuneMethod.Lora"/> adapters over a
    /// frozen base (default), <see cref="FineTuneMethod.QLora"/> adapters over a base stored in 4-bit NF4,
    /// or <see cref="FineTuneMethod.Full"/> fine-tuning of every weight. It sets the default rate
    /// (LoRA and QLoRA 2e-4, full 1e-5).
    /// </summary>
    public FineTuneMethod Method { get; init; } = FineTuneMethod.Lora;

    /// <summary>Full fine-tuning: keep the token embeddings (and a tied LM head, which is the same table) frozen.</summary>
    public bool FreezeEmbeddings { get; init; }

    /// <summary>Full fine-tuning: keep the first N decoder layers frozen (0 trains all).</summary>
    public int FreezeLayers { get; init; }

    /// <summary>QLoRA: also quantize the 4-bit blocks' scales to 8 bits (QLoRA's double quantization; saves ~0.37 bits per weight). Default true.</summary>
    public bool DoubleQuantization { get; init; } = true;

    /// <summary>Peak learning rate; null = the method's default (<see cref="TrainingDefaults.LearningRate"/>), adjusted for the batch.</summary>
    public double? LearningRate { get; init; }

    /// <summary>Schedule kind (cosine by default).</summary>
    public ScheduleKind Scheduler { get; init; } = TrainingDefaults.Scheduler;

    /// <summary>Warmup as a number of optimizer steps (wins over <see cref="WarmupRatio"/>).</summary>
    public long? WarmupSteps { get; init; }

    /// <summary>Warmup as a fraction of the planned steps (default 0.05).</summary>
    public double? WarmupRatio { get; init; } = TrainingDefaults.WarmupRatio;

    /// <summary>Linear (default) or exponential warmup.</summary>
    public WarmupShape WarmupShape { get; init; } = WarmupShape.Linear;

    /// <summary>
    /// Per-kind schedule parameters (cycles, power, floors, decay steps, one-cycle, plateau). Kind, rate,
    /// total and warmup come from this record's own properties; per-kind values left null take the
    /// defaults <see cref="ResolveSchedule"/> documents.
    /// </summary>
    public ScheduleOptions ScheduleParameters { get; init; } = new();

    /// <summary>Passes over the training data (ignored when <see cref="MaxSteps"/> is set). Default 3.</summary>
    public int Epochs { get; init; } = TrainingDefaults.Epochs;

    /// <summary>Stop after this many optimizer steps.</summary>
    public long? MaxSteps { get; init; }

    /// <summary>Sequences per micro-batch. Default 8.</summary>
    public int BatchSize { get; init; } = TrainingDefaults.BatchSize;

    /// <summary>Micro-batches per optimizer step; the loss is normalised over the real tokens of all of them.</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>Global gradient-norm clip (0 disables). Default 1.</summary>
    public double MaxGradNorm { get; init; } = TrainingDefaults.MaxGradNorm;

    /// <summary>Decoupled weight decay of the LoRA factors (0 by default: decaying a low-rank update towards zero fights the update).</summary>
    public double WeightDecay { get; init; } = TrainingDefaults.WeightDecay;

    /// <summary>Weight decay of a classification head. Default 0.01.</summary>
    public double HeadWeightDecay { get; init; } = TrainingDefaults.HeadWeightDecay;

    /// <summary>LoRA+: B's rate multiplier relative to A's (1 = plain LoRA; the paper suggests 16).</summary>
    public double LoraPlusRatio { get; init; } = 1.0;

    /// <summary>Rate multiplier of a classification head relative to the schedule's rate.</summary>
    public double HeadRateMultiplier { get; init; } = 1.0;

    /// <summary>AdamW betas and epsilon.</summary>
    public (double Beta1, double Beta2, double Eps) Adam { get; init; } =
        (TrainingDefaults.AdamBeta1, TrainingDefaults.AdamBeta2, TrainingDefaults.AdamEpsilon);

    /// <summary>LoRA rank, alpha, dropout, targets and rsLoRA (used when the model has no adapters yet). Default r=8, alpha=16, dropout 0.05, all linear layers.</summary>
    public LoraSettings Lora { get; init; } = new()
    {
        Rank = TrainingDefaults.LoraRank, Alpha = TrainingDefaults.LoraAlpha, Dropout = TrainingDefaults.LoraDropout,
        TargetModules = LoraSettings.AllLinear,
    };

    /// <summary>Where front ends load the model (CPU by default); the trainer computes wherever the model it is given lives.</summary>
    public Device Device { get; init; } = Device.Cpu;

    /// <summary>Compute dtype front ends load the base weights in; null = the device's default (float32 on CPU, bfloat16 on CUDA).</summary>
    public DType? Precision { get; init; }

    /// <summary>
    /// The dtype to load the model in: <see cref="Precision"/>, else float32 for full fine-tuning
    /// (whose in-place updates bfloat16 would round away), else null for the device's default.
    /// </summary>
    public DType? ModelDType => Precision ?? (Method == FineTuneMethod.Full ? DType.Float32 : null);

    /// <summary>Seed for LoRA init, head init, data order, dropout and evaluation splits; a CPU run with the same seed repeats bit for bit.</summary>
    public ulong Seed { get; init; } = TrainingDefaults.Seed;

    /// <summary>Shuffle the data each epoch.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Longest sequence in tokens; longer examples are cut. Default 512.</summary>
    public int MaxLength { get; init; } = TrainingDefaults.MaxLength;

    /// <summary>Causal LM only: concatenate the training examples (EOS between them) into full blocks of <see cref="MaxLength"/>, so no compute goes to padding.</summary>
    public bool Packing { get; init; }

    /// <summary>Recompute layer activations in backward to save memory.</summary>
    public bool GradientCheckpointing { get; init; }

    /// <summary>Evaluate every N optimizer steps (0 = only at epoch ends and the last step).</summary>
    public int EvalEvery { get; init; }

    /// <summary>Hold out this fraction of the training data for evaluation when no evaluation set is given (see <see cref="Data.DataSplit"/>).</summary>
    public double? EvalSplit { get; init; }

    /// <summary>Stop after this many evaluations without improvement (0 disables).</summary>
    public int EarlyStoppingPatience { get; init; }

    /// <summary>Write a resumable checkpoint every N steps (0 = only at the end and on cancellation).</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>Keep only the newest K checkpoint folders (null keeps all).</summary>
    public int? KeepCheckpoints { get; init; }

    /// <summary>Folder for checkpoints, the final and the best adapter; null keeps everything in memory.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>JSONL metrics file (one object per step, evaluation and event).</summary>
    public string? MetricsFile { get; init; }

    /// <summary>What the watchdog does on NaN/Inf and loss spikes.</summary>
    public WatchdogOptions Watchdog { get; init; } = new();

    /// <summary>
    /// Whether loss spikes count as anomalies (NaN and infinity always do); null = on for causal LM, off
    /// for classification, whose per-batch loss jumps from near 0 to about 1 whenever a batch holds one
    /// misclassified row.
    /// </summary>
    public bool? DetectLossSpikes { get; init; }

    /// <summary>Resume from this checkpoint folder (a checkpoint-N folder or the output folder holding them).</summary>
    public string? ResumeFrom { get; init; }

    /// <summary>On resume, replace the checkpoint's peak rate by <see cref="LearningRate"/> (logged).</summary>
    public bool OverrideRateOnResume { get; init; }

    /// <summary>Recorded in saved adapters as base_model_name_or_path.</summary>
    public string BaseModelNameOrPath { get; init; } = "";

    /// <summary>Receives human-readable log lines (rate choice, evaluations, watchdog events).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>
    /// The examples <see cref="LoraTrainer.Train"/> trains on: <paramref name="rows"/> as they are, or with
    /// <see cref="Packing"/> joined (<paramref name="eosId"/> between them) into blocks of <see cref="MaxLength"/>.
    /// Front ends that plan or check a run before training count these.
    /// </summary>
    public IReadOnlyList<TrainingExample> TrainingSet(IReadOnlyList<TrainingExample> rows, int? eosId) =>
        Packing ? Collator.Pack(rows, MaxLength, eosId) : rows;

    /// <summary>Micro-batches per epoch for <paramref name="trainCount"/> examples.</summary>
    public int MicroBatchesPerEpoch(int trainCount) => (trainCount + BatchSize - 1) / BatchSize;

    /// <summary>Optimizer steps per epoch (the last step of an epoch may hold fewer micro-batches).</summary>
    public int StepsPerEpoch(int trainCount) => (MicroBatchesPerEpoch(trainCount) + GradientAccumulation - 1) / GradientAccumulation;

    /// <summary>The optimizer steps a run over <paramref name="trainCount"/> examples will take: <see cref="MaxSteps"/>, else epochs × steps per epoch.</summary>
    public long PlannedSteps(int trainCount) => MaxSteps ?? (long)StepsPerEpoch(trainCount) * Epochs;
}
