using System.Globalization;
using MLNetLora.LibTorch;
using MLNetLora.Models.Quantization;
using MLNetLora.Models.Transformer;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Watchdog;

namespace MLNetLora.Training.Engine;

/// <summary>
/// What a training run holds in memory, estimated before the optimizer allocates anything: the loaded
/// weights, the gradients and AdamW's two moments of whatever is trained, the activations one
/// micro-batch keeps for backward, and the rollback snapshot when the watchdog may roll back.
/// </summary>
/// <param name="WeightBytes">The model as loaded (base weights, adapters, head).</param>
/// <param name="GradientBytes">One gradient per trained element.</param>
/// <param name="OptimizerBytes">AdamW's exp_avg and exp_avg_sq.</param>
/// <param name="ActivationBytes">Activations of one micro-batch of <c>BatchSize × MaxLength</c> tokens, plus one layer's backward temporaries.</param>
/// <param name="SnapshotBytes">The in-memory rollback copy of the trained tensors and moments (0 unless the watchdog policy rolls back).</param>
public sealed record MemoryEstimate(long WeightBytes, long GradientBytes, long OptimizerBytes, long ActivationBytes, long SnapshotBytes)
{
    /// <summary>Everything together.</summary>
    public long TotalBytes => WeightBytes + AdditionalBytes;

    /// <summary>What training adds to the loaded model.</summary>
    public long AdditionalBytes => GradientBytes + OptimizerBytes + ActivationBytes + SnapshotBytes;

    /// <summary>Estimates a run of <paramref name="options"/> on <paramref name="model"/> as it is now (adapters or trained weights already set up).</summary>
    public static MemoryEstimate For(DecoderModel model, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var spec = model.Spec;
        int elem = model.ComputeDType.ElementSize();
        // The base as stored: NF4 codes and scales for a QLoRA base, dense tensors otherwise.
        long weights = QuantizationReport.ForModel(model).TotalBytes + (model.ScoreHead is { } head ? Bytes(head.Weight) : 0)
            + model.Adapters.Values.Sum(a => Bytes(a.A) + Bytes(a.B) + (a.Magnitude is { } m ? Bytes(m) : 0));
        var trained = model.Adapters.Values.SelectMany(a => a.Magnitude is { } m ? new[] { a.A, a.B, m } : new[] { a.A, a.B })
            .Concat(model.TrainableWeights.Select(w => w.Value))
            .Concat(model.ScoreHead is null ? [] : [model.ScoreHead.Weight]).ToList();
        long grads = trained.Sum(Bytes);
        // AdamW keeps its moments in float32 for half-precision parameters, otherwise in the parameter's dtype.
        long moments = 2 * trained.Sum(t => t.NumEl * Math.Max(4, t.DType.ElementSize()));
        long tokens = (long)options.BatchSize * options.MaxLength;
        long c = spec.HiddenSize, i = spec.IntermediateSize, q = (long)spec.NumHeads * spec.HeadDim, kv = (long)spec.NumKvHeads * spec.HeadDim;
        // Kept per token and layer: the layer input, the residual after attention and both normalised inputs (4C),
        // q, the attention output and its (T, H·D) copy for o_proj (3·H·D), k and v (2·KV·D), gate, up and their product (3I).
        long perLayer = tokens * (4 * c + 3 * q + 2 * kv + 3 * i) * elem;
        // A QLoRA layer decodes one weight at a time for its matmul: the largest one is the transient.
        long decoded = model.IsQuantized ? model.Linears.Max(l => (long)l.InFeatures * l.OutFeatures) * elem : 0;
        long kept = options.GradientCheckpointing ? spec.NumLayers * tokens * c * elem + perLayer : spec.NumLayers * perLayer;
        long logits = 3 * Math.Min(model.LogitChunkElements, tokens * spec.VocabSize) * elem;
        // Attention's backward builds the (B, H, T, T) probabilities and their gradient for one layer at a time.
        long scores = 2L * options.BatchSize * spec.NumHeads * options.MaxLength * (long)options.MaxLength * elem;
        long activations = kept + perLayer + logits + 3 * tokens * c * elem + decoded + scores;
        long snapshot = options.Watchdog.Policy == WatchdogPolicy.RollbackAndLowerRate ? grads + moments : 0;
        return new MemoryEstimate(weights, grads, moments, activations, snapshot);
    }

    /// <summary>
    /// Memory the process can still take: <c>MemAvailable</c> from /proc/meminfo on Linux, else the
    /// runtime's limit less what this process uses. Null for CUDA, whose free memory libtorch's C ABI
    /// does not report.
    /// </summary>
    public static long? AvailableBytes(Device device)
    {
        if (device.IsCuda) return null;
        try
        {
            if (File.Exists("/proc/meminfo"))
                foreach (string line in File.ReadLines("/proc/meminfo"))
                    if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                        return long.Parse(line["MemAvailable:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            // Fall through to the runtime's view.
        }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes - Environment.WorkingSet;
    }

    /// <summary>One line for the log: the parts, the total and, when known, what is available.</summary>
    public string Describe(long? available) =>
        $"memory estimate: weights {Gb(WeightBytes)} + gradients {Gb(GradientBytes)} + optimizer {Gb(OptimizerBytes)} + activations {Gb(ActivationBytes)}" +
        (SnapshotBytes > 0 ? $" + rollback snapshot {Gb(SnapshotBytes)}" : "") + $" = {Gb(TotalBytes)}" +
        (available is long a ? $" ({Gb(a)} available beyond what is loaded)" : "");

    /// <summary>
    /// Refuses a run whose additional memory exceeds <paramref name="available"/>, naming what to change:
    /// the method when the trained state alone does not fit, else the batch.
    /// </summary>
    /// <exception cref="TrainerOptionException">The run cannot fit.</exception>
    public void ThrowIfTooLarge(long? available, FineTuneMethod method)
    {
        if (available is not long a || AdditionalBytes <= a) return;
        bool stateAlone = GradientBytes + OptimizerBytes + SnapshotBytes > a;
        string property = stateAlone ? nameof(TrainerOptions.Method) : nameof(TrainerOptions.BatchSize);
        string advice = method == FineTuneMethod.Full
            ? "Use Method = Lora or QLora (adapters need a small fraction of this), freeze part of the model (FreezeLayers, FreezeEmbeddings), turn on GradientCheckpointing, or lower BatchSize or MaxLength."
            : "Turn on GradientCheckpointing, lower BatchSize or MaxLength (GradientAccumulation keeps the effective batch), or use Method = QLora for a smaller base.";
        throw new TrainerOptionException(property,
            $"This run needs about {Gb(AdditionalBytes)} beyond the loaded model (gradients {Gb(GradientBytes)}, optimizer {Gb(OptimizerBytes)}, " +
            $"activations {Gb(ActivationBytes)}{(SnapshotBytes > 0 ? $", rollback snapshot {Gb(SnapshotBytes)}" : "")}) but only {Gb(a)} is available. {advice}");
    }

    private static long Bytes(Tensor t) => t.NumEl * t.DType.ElementSize();

    private static string Gb(long bytes) => bytes >= 1L << 30
        ? (bytes / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB"
        : (bytes / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";
}
