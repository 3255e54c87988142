using System.Diagnostics.CodeAnalysis;
using Microsoft.ML;
using MLNetLora.LibTorch;
using MLNetLora.Models.Lora;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;
using MLNetLora.Training.Watchdog;

namespace MLNetLora.ML;

/// <summary>
/// The learning setup shared by <see cref="LoraClassificationOptions"/> and <see cref="LoraGenerationOptions"/>.
/// Every field maps one to one onto the training layer's <see cref="TrainerOptions"/> (same name where
/// it is not nested, same default, same checks; see docs/training.md#defaults), so ML.NET, the CLI and
/// the training API train alike. The fields follow Microsoft.ML.TorchSharp's options style.
/// </summary>
public abstract class LoraTrainingOptions
{
    private readonly TrainerOptions defaults;

    private protected LoraTrainingOptions(TrainingTask task)
    {
        defaults = new TrainerOptions { Task = task };
        ApplyDefaults();
    }

    /// <summary>Hugging Face model folder (config.json, model.safetensors, tokenizer.json). Required.</summary>
    public string ModelPath = "";

    /// <summary>Optional validation data (same columns as the training data), evaluated at each epoch end and every <see cref="EvalEvery"/> steps.</summary>
    public IDataView? ValidationSet;

    /// <summary>
    /// What is trained: LoRA adapters (default), QLoRA adapters over a 4-bit NF4 base, or every weight
    /// (Full; the saved zip then carries the whole trained model). It sets the default rate.
    /// </summary>
    public FineTuneMethod Method;

    /// <summary>Full fine-tuning: keep the first N decoder layers frozen.</summary>
    public int FreezeLayers;

    /// <summary>Full fine-tuning: keep the token embeddings (and a tied LM head) frozen.</summary>
    public bool FreezeEmbeddings;

    /// <summary>QLoRA: quantize the 4-bit blocks' scales to 8 bits too. Default true.</summary>
    public bool DoubleQuantization;

    /// <summary>Peak learning rate; null chooses the method's default (LoRA and QLoRA 2e-4, full 1e-5) adjusted for the batch size, and logs why.</summary>
    public double? LearningRate;

    /// <summary>Learning-rate schedule. Default cosine.</summary>
    public ScheduleKind Scheduler;

    /// <summary>Warmup as a fraction of the optimizer steps. Default 0.05.</summary>
    public double? WarmupRatio;

    /// <summary>Warmup as a number of optimizer steps (wins over <see cref="WarmupRatio"/>).</summary>
    public long? WarmupSteps;

    /// <summary>Shape of the warmup ramp. Default linear.</summary>
    public WarmupShape WarmupShape;

    /// <summary>Per-kind schedule parameters (cycles, floors, decay steps, one-cycle, plateau); nulls take the per-kind defaults.</summary>
    public ScheduleOptions ScheduleParameters = new();

    /// <summary>Passes over the training data. Default 3.</summary>
    public int Epochs;

    /// <summary>Stop after this many optimizer steps (overrides <see cref="Epochs"/>).</summary>
    public long? MaxSteps;

    /// <summary>Rows per training, evaluation and scoring batch. Default 8.</summary>
    public int BatchSize;

    /// <summary>Micro-batches per optimizer step. Default 1.</summary>
    public int GradientAccumulation;

    /// <summary>Global gradient-norm clip (0 disables). Default 1.</summary>
    public double MaxGradNorm;

    /// <summary>AdamW weight decay of the LoRA factors. Default 0.</summary>
    public double WeightDecay;

    /// <summary>AdamW weight decay of a classification head. Default 0.</summary>
    public double HeadWeightDecay;

    /// <summary>Rate multiplier of a classification head relative to the schedule's rate. Default 1.</summary>
    public double HeadRateMultiplier;

    /// <summary>AdamW beta1. Default 0.9.</summary>
    public double AdamBeta1;

    /// <summary>AdamW beta2. Default 0.999.</summary>
    public double AdamBeta2;

    /// <summary>AdamW epsilon. Default 1e-8.</summary>
    public double AdamEpsilon;

    /// <summary>Longest token sequence; longer rows keep their start. Default 512.</summary>
    public int MaxLength;

    /// <summary>Shuffle the rows each epoch (seeded by <see cref="Seed"/>). Default true.</summary>
    public bool Shuffle;

    /// <summary>LoRA rank. Default 8.</summary>
    public int LoraRank;

    /// <summary>LoRA alpha (the update is scaled by alpha / rank). Default 16.</summary>
    public double LoraAlpha;

    /// <summary>Dropout on the LoRA input. Default 0.05.</summary>
    public double LoraDropout;

    /// <summary>Module names that get adapters. Default: every linear layer (q,k,v,o,gate,up,down).</summary>
    public IReadOnlyList<string> TargetModules;

    /// <summary>Rank-stabilised scaling alpha/sqrt(r).</summary>
    public bool UseRsLora;

    /// <summary>DoRA: LoRA with a trained magnitude per output row (PEFT's <c>use_dora</c>). Default false.</summary>
    public bool UseDora;

    /// <summary>LoRA+: B's rate is this multiple of A's (1 = plain LoRA).</summary>
    public double LoraPlusRatio;

    /// <summary>Seed of adapter and head initialisation, data order and dropout. Default 42.</summary>
    public ulong Seed;

    /// <summary>Evaluate on <see cref="ValidationSet"/> every N steps as well (0 = only at epoch ends).</summary>
    public int EvalEvery;

    /// <summary>Stop after this many evaluations without improvement (0 disables; needs <see cref="ValidationSet"/>).</summary>
    public int EarlyStoppingPatience;

    /// <summary>
    /// Folder for checkpoints, the final and best adapter and metrics.jsonl; null keeps everything in
    /// memory. A folder that holds an earlier run is refused unless <see cref="ResumeFrom"/> continues it.
    /// </summary>
    public string? OutputDirectory;

    /// <summary>With <see cref="OutputDirectory"/>: a resumable checkpoint every N steps (0 = at the end).</summary>
    public int CheckpointEvery;

    /// <summary>Keep only the newest K checkpoints (null keeps all).</summary>
    public int? KeepCheckpoints;

    /// <summary>A checkpoint folder (or a run folder, for its newest checkpoint) to continue exactly: same data order, same rate curve.</summary>
    public string? ResumeFrom;

    /// <summary>On resume, take <see cref="LearningRate"/> and the schedule from these options instead of the checkpoint.</summary>
    public bool OverrideRateOnResume;

    /// <summary>What the loss watchdog watches and does on a NaN, a spike or a flat loss. Default: skip the update.</summary>
    public WatchdogOptions Watchdog;

    /// <summary>Spike detection on (true) or off (false); null = the task's default (on for generation, off for classification, whose losses are heavy-tailed).</summary>
    public bool? DetectLossSpikes;

    /// <summary>Recompute activations in backward to save memory.</summary>
    public bool GradientCheckpointing;

    /// <summary>Compute dtype of the base weights; null = the device's default (float32 on CPU, bfloat16 on CUDA).</summary>
    public DType? Precision;

    /// <summary>
    /// Compute device: "cpu", "cuda" or "cuda:N". Null (the default) follows ML.NET's convention:
    /// <c>MLContext.GpuDeviceId</c> selects a GPU, and <c>MLContext.FallbackToCpu</c> says whether to use the CPU when it is not there.
    /// </summary>
    public string? Device;

    /// <summary>Write a progress line to <c>mlContext.Log</c> every N optimizer steps (and at the first and last). Default 10.</summary>
    public int LogEvery = 10;

    /// <summary>
    /// Store the base model's files in the saved zip (<c>mlContext.Model.Save</c>), so the model moves to
    /// another machine as one file; the zip then grows by about the size of the base folder. Off: only
    /// the adapter, the base model's path and its fingerprint are stored.
    /// </summary>
    public bool EmbedBaseModel;

    /// <summary>
    /// Stops training at the next optimizer step (Fit then throws <see cref="OperationCanceledException"/>
    /// after writing a checkpoint when <see cref="OutputDirectory"/> is set).
    /// </summary>
    public CancellationToken CancellationToken;

    /// <summary>The options' type name, which error messages start with.</summary>
    internal string TypeName => GetType().Name;

    [MemberNotNull(nameof(TargetModules), nameof(Watchdog))]
    private void ApplyDefaults()
    {
        var d = defaults;
        Method = d.Method; FreezeLayers = d.FreezeLayers; FreezeEmbeddings = d.FreezeEmbeddings; DoubleQuantization = d.DoubleQuantization;
        Scheduler = d.Scheduler; WarmupRatio = d.WarmupRatio; WarmupSteps = d.WarmupSteps; WarmupShape = d.WarmupShape;
        Epochs = d.Epochs; MaxSteps = d.MaxSteps; BatchSize = d.BatchSize; GradientAccumulation = d.GradientAccumulation;
        MaxGradNorm = d.MaxGradNorm; WeightDecay = d.WeightDecay; HeadWeightDecay = d.HeadWeightDecay; HeadRateMultiplier = d.HeadRateMultiplier;
        (AdamBeta1, AdamBeta2, AdamEpsilon) = d.Adam;
        MaxLength = d.MaxLength; Shuffle = d.Shuffle;
        LoraRank = d.Lora.Rank; LoraAlpha = d.Lora.Alpha; LoraDropout = d.Lora.Dropout; TargetModules = d.Lora.TargetModules; UseRsLora = d.Lora.UseRsLora; UseDora = d.Lora.UseDora;
        LoraPlusRatio = d.LoraPlusRatio; Seed = d.Seed; EvalEvery = d.EvalEvery; EarlyStoppingPatience = d.EarlyStoppingPatience;
        CheckpointEvery = d.CheckpointEvery; KeepCheckpoints = d.KeepCheckpoints; Watchdog = d.Watchdog; DetectLossSpikes = d.DetectLossSpikes;
        GradientCheckpointing = d.GradientCheckpointing; Precision = d.Precision;
    }

    /// <summary>This object's learning setup as the training layer's configuration (the one place the mapping lives).</summary>
    /// <param name="device">The device to train on (see <see cref="Device"/>; the estimator resolves it against the MLContext).</param>
    public TrainerOptions ToTrainerOptions(Device? device = null) => defaults with
    {
        Method = Method, FreezeLayers = FreezeLayers, FreezeEmbeddings = FreezeEmbeddings, DoubleQuantization = DoubleQuantization,
        LearningRate = LearningRate, Scheduler = Scheduler, WarmupRatio = WarmupRatio, WarmupSteps = WarmupSteps, WarmupShape = WarmupShape,
        ScheduleParameters = ScheduleParameters, Epochs = Epochs, MaxSteps = MaxSteps, BatchSize = BatchSize,
        GradientAccumulation = GradientAccumulation, MaxGradNorm = MaxGradNorm, WeightDecay = WeightDecay, HeadWeightDecay = HeadWeightDecay,
        HeadRateMultiplier = HeadRateMultiplier, Adam = (AdamBeta1, AdamBeta2, AdamEpsilon), MaxLength = MaxLength, Shuffle = Shuffle,
        Lora = new LoraSettings
        {
            Rank = LoraRank, Alpha = LoraAlpha, Dropout = LoraDropout, TargetModules = TargetModules?.ToArray() ?? [], UseRsLora = UseRsLora, UseDora = UseDora,
        },
        LoraPlusRatio = LoraPlusRatio, Seed = Seed, EvalEvery = EvalEvery, EarlyStoppingPatience = EarlyStoppingPatience,
        OutputDirectory = OutputDirectory, CheckpointEvery = CheckpointEvery, KeepCheckpoints = KeepCheckpoints,
        MetricsFile = OutputDirectory is null ? null : Path.Combine(OutputDirectory, RunFolder.MetricsFileName),
        ResumeFrom = ResumeFrom, OverrideRateOnResume = OverrideRateOnResume,
        Watchdog = Watchdog ?? defaults.Watchdog, DetectLossSpikes = DetectLossSpikes, GradientCheckpointing = GradientCheckpointing,
        Precision = Precision, Device = device ?? defaults.Device,
        BaseModelNameOrPath = string.IsNullOrWhiteSpace(ModelPath) ? "" : Path.GetFullPath(ModelPath),
    };
}
