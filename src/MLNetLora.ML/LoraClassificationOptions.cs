using Microsoft.ML;
using MLNetLora.Models.Lora;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;
using MLNetLora.Training.Watchdog;

namespace MLNetLora.ML;

/// <summary>
/// Options of <see cref="LoraClassificationEstimator"/>: LoRA fine-tuning of a Hugging Face decoder
/// model (Llama family) with a sequence-classification head, inside an ML.NET pipeline. The fields
/// follow Microsoft.ML.TorchSharp's trainer options: column names, then the learning setup, which maps
/// one to one onto the training layer's <see cref="TrainerOptions"/> (same names, same defaults,
/// same checks; see docs/training.md).
/// </summary>
public sealed class LoraClassificationOptions
{
    private static readonly TrainerOptions Defaults = new() { Task = TrainingTask.Classification };

    /// <summary>Hugging Face model folder (config.json, model.safetensors, tokenizer.json). Required.</summary>
    public string ModelPath = "";

    /// <summary>Input text column (type Text). Default "Text".</summary>
    public string TextColumnName = "Text";

    /// <summary>Label column; it must be a key type (use <c>mlContext.Transforms.Conversion.MapValueToKey</c>). Default "Label".</summary>
    public string LabelColumnName = "Label";

    /// <summary>Output column of class probabilities (vector of Single, one per class). Default "Score".</summary>
    public string ScoreColumnName = "Score";

    /// <summary>Output column of the predicted class (same key type as the label). Default "PredictedLabel".</summary>
    public string PredictedLabelColumnName = "PredictedLabel";

    /// <summary>Peak learning rate; null chooses the LoRA default (2e-4) adjusted for the batch size, and logs why.</summary>
    public double? LearningRate;

    /// <summary>Learning-rate schedule (cosine by default).</summary>
    public ScheduleKind Scheduler = Defaults.Scheduler;

    /// <summary>Warmup as a fraction of the optimizer steps (default 0.05).</summary>
    public double? WarmupRatio = Defaults.WarmupRatio;

    /// <summary>Warmup as a number of optimizer steps (wins over <see cref="WarmupRatio"/>).</summary>
    public long? WarmupSteps;

    /// <summary>Per-kind schedule parameters (cycles, floors, decay steps, one-cycle, plateau); nulls take the per-kind defaults.</summary>
    public ScheduleOptions ScheduleParameters = new();

    /// <summary>Passes over the training data. Default 3.</summary>
    public int Epochs = Defaults.Epochs;

    /// <summary>Stop after this many optimizer steps (overrides <see cref="Epochs"/>).</summary>
    public long? MaxSteps;

    /// <summary>Rows per training and scoring batch. Default 8.</summary>
    public int BatchSize = Defaults.BatchSize;

    /// <summary>Micro-batches per optimizer step. Default 1.</summary>
    public int GradientAccumulation = Defaults.GradientAccumulation;

    /// <summary>Global gradient-norm clip (0 disables). Default 1.</summary>
    public double MaxGradNorm = Defaults.MaxGradNorm;

    /// <summary>AdamW weight decay of the LoRA factors. Default 0.</summary>
    public double WeightDecay = Defaults.WeightDecay;

    /// <summary>Longest token sequence; longer texts keep their start. Default 512.</summary>
    public int MaxLength = Defaults.MaxLength;

    /// <summary>LoRA rank. Default 8.</summary>
    public int LoraRank = Defaults.Lora.Rank;

    /// <summary>LoRA alpha (the update is scaled by alpha / rank). Default 16.</summary>
    public double LoraAlpha = Defaults.Lora.Alpha;

    /// <summary>Dropout on the LoRA input. Default 0.05.</summary>
    public double LoraDropout = Defaults.Lora.Dropout;

    /// <summary>Module names that get adapters. Default: every linear layer (q,k,v,o,gate,up,down).</summary>
    public IReadOnlyList<string> TargetModules = Defaults.Lora.TargetModules;

    /// <summary>Rank-stabilised scaling alpha/sqrt(r).</summary>
    public bool UseRsLora;

    /// <summary>LoRA+: B's rate is this multiple of A's (1 = plain LoRA).</summary>
    public double LoraPlusRatio = Defaults.LoraPlusRatio;

    /// <summary>Seed of adapter and head initialisation, data order and dropout. Default 42.</summary>
    public ulong Seed = Defaults.Seed;

    /// <summary>Optional validation data (same columns as the training data), evaluated at each epoch end and logged.</summary>
    public IDataView? ValidationSet;

    /// <summary>Evaluate on <see cref="ValidationSet"/> every N steps as well (0 = only at epoch ends).</summary>
    public int EvalEvery;

    /// <summary>Stop after this many evaluations without improvement (0 disables; needs <see cref="ValidationSet"/>).</summary>
    public int EarlyStoppingPatience;

    /// <summary>Optional folder for checkpoints, the final and best adapter and metrics.jsonl; null keeps everything in memory.</summary>
    public string? OutputDirectory;

    /// <summary>With <see cref="OutputDirectory"/>: a resumable checkpoint every N steps (0 = at the end).</summary>
    public int CheckpointEvery;

    /// <summary>Keep only the newest K checkpoints (null keeps all).</summary>
    public int? KeepCheckpoints;

    /// <summary>What the loss watchdog does on a NaN or a spike (skip the update by default).</summary>
    public WatchdogPolicy WatchdogPolicy = Defaults.Watchdog.Policy;

    /// <summary>Recompute activations in backward to save memory.</summary>
    public bool GradientCheckpointing;

    /// <summary>Compute device: "cpu", "cuda" or "cuda:N". Default "cpu".</summary>
    public string Device = "cpu";

    /// <summary>
    /// Stops training at the next optimizer step (Fit then throws <see cref="OperationCanceledException"/>).
    /// ML.NET 5's own <c>CancelExecution</c> is not public on MLContext; it is honoured too when reached.
    /// </summary>
    public CancellationToken CancellationToken;

    /// <summary>This object's learning setup as the training layer's configuration (the one place the mapping lives).</summary>
    /// <exception cref="ArgumentException"><see cref="Device"/> is not a device name.</exception>
    public TrainerOptions ToTrainerOptions() => Defaults with
    {
        LearningRate = LearningRate, Scheduler = Scheduler, WarmupRatio = WarmupRatio, WarmupSteps = WarmupSteps,
        ScheduleParameters = ScheduleParameters, Epochs = Epochs, MaxSteps = MaxSteps, BatchSize = BatchSize,
        GradientAccumulation = GradientAccumulation, MaxGradNorm = MaxGradNorm, WeightDecay = WeightDecay, MaxLength = MaxLength,
        Lora = new LoraSettings
        {
            Rank = LoraRank, Alpha = LoraAlpha, Dropout = LoraDropout, TargetModules = TargetModules?.ToArray() ?? [], UseRsLora = UseRsLora,
        },
        LoraPlusRatio = LoraPlusRatio, Seed = Seed, EvalEvery = EvalEvery, EarlyStoppingPatience = EarlyStoppingPatience,
        OutputDirectory = OutputDirectory, CheckpointEvery = CheckpointEvery, KeepCheckpoints = KeepCheckpoints,
        MetricsFile = OutputDirectory is null ? null : Path.Combine(OutputDirectory, "metrics.jsonl"),
        Watchdog = Defaults.Watchdog with { Policy = WatchdogPolicy }, GradientCheckpointing = GradientCheckpointing,
        Device = ParseDevice(Device),
        BaseModelNameOrPath = string.IsNullOrWhiteSpace(ModelPath) ? "" : Path.GetFullPath(ModelPath),
    };

    private static LibTorch.Device ParseDevice(string text)
    {
        try
        {
            return LibTorch.Device.Parse(text);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new TrainerOptionException(nameof(Device), $"Device '{text}' is not a device; use \"cpu\", \"cuda\" or \"cuda:N\".", e);
        }
    }
}
