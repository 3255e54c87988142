using Microsoft.ML;
using MLNetLora.Models.Lora;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Schedules;

namespace MLNetLora.ML;

/// <summary>
/// Options of <see cref="LoraClassificationEstimator"/>: LoRA fine-tuning of a Hugging Face decoder
/// model (Llama family) with a sequence-classification head, inside an ML.NET pipeline. The fields
/// follow Microsoft.ML.TorchSharp's trainer options: column names, then the learning setup.
/// </summary>
public sealed class LoraClassificationOptions
{
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
    public ScheduleKind Scheduler = TrainingDefaults.Scheduler;

    /// <summary>Warmup as a fraction of the optimizer steps.</summary>
    public double WarmupRatio = TrainingDefaults.WarmupRatio;

    /// <summary>Passes over the training data. Default 3.</summary>
    public int Epochs = 3;

    /// <summary>Rows per training and scoring batch. Default 8.</summary>
    public int BatchSize = 8;

    /// <summary>Longest token sequence; longer texts keep their start. Default 256.</summary>
    public int MaxLength = 256;

    /// <summary>LoRA rank. Default 8.</summary>
    public int LoraRank = 8;

    /// <summary>LoRA alpha (the update is scaled by alpha / rank). Default 16.</summary>
    public double LoraAlpha = 16;

    /// <summary>Dropout on the LoRA input. Default 0.05.</summary>
    public double LoraDropout = 0.05;

    /// <summary>Module names that get adapters. Default: every linear layer (q,k,v,o,gate,up,down).</summary>
    public IReadOnlyList<string> TargetModules = LoraSettings.AllLinear;

    /// <summary>Seed of adapter and head initialisation, data order and dropout. Default 42.</summary>
    public ulong Seed = 42;

    /// <summary>Optional validation data (same columns as the training data), evaluated at each epoch end and logged.</summary>
    public IDataView? ValidationSet;

    /// <summary>Optional folder for checkpoints, the final and best adapter and metrics.jsonl; null keeps everything in memory.</summary>
    public string? OutputDirectory;

    /// <summary>Compute device: "cpu", "cuda" or "cuda:N". Default "cpu".</summary>
    public string Device = "cpu";

    /// <summary>
    /// Stops training at the next optimizer step (Fit then throws <see cref="OperationCanceledException"/>).
    /// ML.NET 5's own <c>CancelExecution</c> is not public on MLContext; it is honoured too when reached.
    /// </summary>
    public CancellationToken CancellationToken;

    internal LoraSettings ToLoraSettings() => new()
    {
        Rank = LoraRank,
        Alpha = LoraAlpha,
        Dropout = LoraDropout,
        TargetModules = TargetModules.ToArray(),
    };
}
