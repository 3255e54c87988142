using MLNetLora.Models.Lora;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Schedules;
using MLNetLora.Training.Watchdog;

namespace MLNetLora.Training.Engine;

/// <summary>What the trainer learns.</summary>
public enum TrainingTask
{
    /// <summary>Next-token prediction (prompt tokens and padding ignored).</summary>
    CausalLm,
    /// <summary>Sequence classification with a score head on the last real token.</summary>
    Classification,
}

/// <summary>
/// Every knob of a LoRA training run. The learning rate, its schedule and warmup are first-class:
/// leave <see cref="LearningRate"/> null to get the method's default (LoRA 2e-4), adjusted for the
/// batch size and explained in the log.
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>Causal LM or classification.</summary>
    public TrainingTask Task { get; init; } = TrainingTask.CausalLm;

    /// <summary>Peak learning rate; null = <see cref="TrainingDefaults"/>' rate for LoRA, adjusted for the batch.</summary>
    public double? LearningRate { get; init; }

    /// <summary>Schedule kind (cosine by default).</summary>
    public ScheduleKind Scheduler { get; init; } = TrainingDefaults.Scheduler;

    /// <summary>Warmup as a number of optimizer steps (wins over <see cref="WarmupRatio"/>).</summary>
    public long? WarmupSteps { get; init; }

    /// <summary>Warmup as a fraction of total steps.</summary>
    public double? WarmupRatio { get; init; } = TrainingDefaults.WarmupRatio;

    /// <summary>Linear (default) or exponential warmup.</summary>
    public WarmupShape WarmupShape { get; init; } = WarmupShape.Linear;

    /// <summary>Further schedule parameters (cycles, power, min rate, plateau, one-cycle…); kind, peak, total and warmup are filled in by the trainer.</summary>
    public ScheduleOptions ScheduleParameters { get; init; } = new();

    /// <summary>Passes over the training data (ignored when <see cref="MaxSteps"/> is set).</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Stop after this many optimizer steps.</summary>
    public long? MaxSteps { get; init; }

    /// <summary>Sequences per micro-batch.</summary>
    public int BatchSize { get; init; } = 4;

    /// <summary>Micro-batches per optimizer step; the loss is normalised over the real tokens of all of them.</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>Global gradient-norm clip (0 disables).</summary>
    public double MaxGradNorm { get; init; } = TrainingDefaults.MaxGradNorm;

    /// <summary>Decoupled weight decay of the LoRA factors (0 by default: decaying a low-rank update towards zero fights the update).</summary>
    public double WeightDecay { get; init; } = TrainingDefaults.WeightDecay;

    /// <summary>Weight decay of a classification head.</summary>
    public double HeadWeightDecay { get; init; } = 0.01;

    /// <summary>LoRA+: B's rate is this multiple of A's (1 = plain LoRA).</summary>
    public double LoraPlusRatio { get; init; } = 1.0;

    /// <summary>Rate multiplier for a classification head.</summary>
    public double HeadRateMultiplier { get; init; } = 1.0;

    /// <summary>AdamW betas and epsilon.</summary>
    public (double Beta1, double Beta2, double Eps) Adam { get; init; } =
        (TrainingDefaults.AdamBeta1, TrainingDefaults.AdamBeta2, TrainingDefaults.AdamEpsilon);

    /// <summary>LoRA rank, alpha, dropout and targets (used when the model has no adapters yet).</summary>
    public LoraSettings Lora { get; init; } = new() { TargetModules = LoraSettings.AllLinear };

    /// <summary>Seed for LoRA init, data order and dropout; a CPU run with the same seed repeats bit for bit.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>Shuffle the data each epoch.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Longest sequence; longer examples are cut.</summary>
    public int MaxLength { get; init; } = 512;

    /// <summary>Evaluate every N optimizer steps (0 = only at epoch ends).</summary>
    public int EvalEvery { get; init; }

    /// <summary>Stop after this many evaluations without improvement (0 disables).</summary>
    public int EarlyStoppingPatience { get; init; }

    /// <summary>Write a resumable checkpoint every N steps (0 = only at the end and on cancellation).</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>Folder for checkpoints, the final and the best adapter; null keeps everything in memory.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>JSONL metrics file (one object per step, evaluation and event).</summary>
    public string? MetricsFile { get; init; }

    /// <summary>Recompute layer activations in backward to save memory.</summary>
    public bool GradientCheckpointing { get; init; }

    /// <summary>What the watchdog does on NaN/Inf and loss spikes.</summary>
    public WatchdogOptions Watchdog { get; init; } = new();

    /// <summary>Resume from this checkpoint folder.</summary>
    public string? ResumeFrom { get; init; }

    /// <summary>On resume, replace the checkpoint's peak rate by <see cref="LearningRate"/> (logged).</summary>
    public bool OverrideRateOnResume { get; init; }

    /// <summary>Recorded in saved adapters as base_model_name_or_path.</summary>
    public string BaseModelNameOrPath { get; init; } = "";

    /// <summary>Receives human-readable log lines (rate choice, evaluations, watchdog events).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Micro-batches per epoch for <paramref name="trainCount"/> examples.</summary>
    public int MicroBatchesPerEpoch(int trainCount) => (trainCount + BatchSize - 1) / BatchSize;

    /// <summary>Optimizer steps per epoch (the last step of an epoch may hold fewer micro-batches).</summary>
    public int StepsPerEpoch(int trainCount) => (MicroBatchesPerEpoch(trainCount) + GradientAccumulation - 1) / GradientAccumulation;

    /// <summary>The optimizer steps a run over <paramref name="trainCount"/> examples will take: <see cref="MaxSteps"/>, else epochs × steps per epoch.</summary>
    public long PlannedSteps(int trainCount) => MaxSteps ?? (long)StepsPerEpoch(trainCount) * Epochs;

    /// <summary>Checks ranges and says what to change.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void Validate()
    {
        if (LearningRate is double lr && (!(lr > 0) || !double.IsFinite(lr))) throw new ArgumentException($"--lr must be a positive number (got {lr}); LoRA usually uses 1e-4 to 3e-4.");
        if (BatchSize < 1) throw new ArgumentException($"--batch-size must be at least 1 (got {BatchSize}).");
        if (GradientAccumulation < 1) throw new ArgumentException($"--grad-accum must be at least 1 (got {GradientAccumulation}).");
        if (Epochs < 1 && MaxSteps is null) throw new ArgumentException("Give --epochs ≥ 1 or --max-steps.");
        if (MaxLength < 2) throw new ArgumentException($"--max-length must be at least 2 (got {MaxLength}).");
        if (LoraPlusRatio <= 0) throw new ArgumentException($"The LoRA+ ratio must be positive (got {LoraPlusRatio}); 16 is the paper's suggestion.");
        Lora.Validate();
    }
}
