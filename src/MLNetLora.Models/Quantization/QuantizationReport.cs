using System.Globalization;
using MLNetLora.LibTorch;
using MLNetLora.Models.Transformer;

namespace MLNetLora.Models.Quantization;

/// <summary>
/// What NF4 storage costs and saves for a model: weight memory against bfloat16 and, from
/// <see cref="Measure"/>, how far the quantized model's logits are from the unquantized one's.
/// </summary>
public sealed record QuantizationReport
{
    /// <summary>Weights stored as NF4.</summary>
    public long QuantizedWeights { get; init; }

    /// <summary>Bytes those weights take as NF4 (codes, scales, maps).</summary>
    public long QuantizedBytes { get; init; }

    /// <summary>Of <see cref="QuantizedBytes"/>, the per-tensor lookup tables (16 levels, and the 256-value map with double quantization).</summary>
    public long TableBytes { get; init; }

    /// <summary>NF4 bytes per quantized weight without the per-tensor tables: what a large layer approaches (0.5 + 4/64 plain, 0.5 + 1/64 + 4/(64·256) double-quantized).</summary>
    public double BytesPerQuantizedWeightWithoutTables => QuantizedWeights == 0 ? 0 : (double)(QuantizedBytes - TableBytes) / QuantizedWeights;

    /// <summary>Weights left dense (embeddings, norms, LM head, biases).</summary>
    public long DenseWeights { get; init; }

    /// <summary>Bytes the dense weights take in the compute dtype.</summary>
    public long DenseBytes { get; init; }

    /// <summary>NF4 bytes per quantized weight (bfloat16: 2).</summary>
    public double BytesPerQuantizedWeight => QuantizedWeights == 0 ? 0 : (double)QuantizedBytes / QuantizedWeights;

    /// <summary>All base-weight bytes now.</summary>
    public long TotalBytes => QuantizedBytes + DenseBytes;

    /// <summary>All base-weight bytes if every weight were bfloat16.</summary>
    public long Bf16Bytes => 2 * (QuantizedWeights + DenseWeights);

    /// <summary>Largest |logit − unquantized logit|, when measured.</summary>
    public double? MaxAbsLogitError { get; init; }

    /// <summary>Mean |logit − unquantized logit|, when measured.</summary>
    public double? MeanAbsLogitError { get; init; }

    /// <summary>Mean |Δlogit| over mean |unquantized logit|, when measured.</summary>
    public double? MeanRelativeLogitError { get; init; }

    /// <summary>Fraction of positions whose most likely next token is unchanged, when measured.</summary>
    public double? Top1Agreement { get; init; }

    /// <summary>Weight memory of <paramref name="model"/> as it is now (quantized or not).</summary>
    /// <param name="model">The model.</param>
    /// <returns>The memory part of a report.</returns>
    public static QuantizationReport ForModel(DecoderModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        long qWeights = 0, qBytes = 0, tBytes = 0, dWeights = 0, dBytes = 0;
        void Dense(Tensor t) { dWeights += t.NumEl; dBytes += t.NumEl * t.DType.ElementSize(); }
        Dense(model.Embedding);
        Dense(model.FinalNorm);
        if (!ReferenceEquals(model.LmHead.Weight, model.Embedding)) Dense(model.LmHead.Weight);
        foreach (var layer in model.Layers)
        {
            foreach (var t in new[] { layer.InputNorm, layer.PostAttentionNorm, layer.QNorm, layer.KNorm })
                if (t is not null) Dense(t);
            foreach (var lin in layer.Linears)
            {
                if (lin.QuantizedWeight is { } q) { qWeights += q.NumEl; qBytes += q.StorageBytes; tBytes += q.TableBytes; }
                else Dense(lin.Weight);
                if (lin.Bias is not null) Dense(lin.Bias);
            }
        }
        return new QuantizationReport { QuantizedWeights = qWeights, QuantizedBytes = qBytes, TableBytes = tBytes, DenseWeights = dWeights, DenseBytes = dBytes };
    }

    /// <summary>
    /// Quantizes <paramref name="model"/> in place (<see cref="DecoderModel.QuantizeBaseWeights"/>) and
    /// measures its logits on <paramref name="inputIds"/> against the logits before.
    /// </summary>
    /// <param name="model">An unquantized model; it is quantized when this returns.</param>
    /// <param name="inputIds">Token ids (B, T) to compare the logits on.</param>
    /// <param name="doubleQuant">Double-quantize the block scales.</param>
    /// <param name="blockSize">Weights per absmax block.</param>
    /// <returns>Memory and logits error.</returns>
    /// <exception cref="InvalidOperationException">The model is already quantized (there is nothing to compare against).</exception>
    public static QuantizationReport Measure(DecoderModel model, Tensor inputIds, bool doubleQuant = true, int blockSize = Nf4.DefaultBlockSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputIds);
        if (model.IsQuantized) throw new InvalidOperationException("The model is already quantized; measure on the unquantized model.");
        using var scope = TensorScope.Begin();
        var before = model.ComputeLogits(inputIds).To(DType.Float64);                    // (B, T, V)
        var report = model.QuantizeBaseWeights(doubleQuant, blockSize);
        var after = model.ComputeLogits(inputIds).To(DType.Float64);                     // (B, T, V)
        var diff = (after - before).Abs();                                               // (B, T, V)
        double meanRef = before.Abs().Mean().ToDouble();
        double meanAbs = diff.Mean().ToDouble();
        var same = before.ArgMax(-1).Eq(after.ArgMax(-1)).To(DType.Float64).Mean().ToDouble();
        return report with
        {
            MaxAbsLogitError = diff.Max().ToDouble(),
            MeanAbsLogitError = meanAbs,
            MeanRelativeLogitError = meanRef == 0 ? 0 : meanAbs / meanRef,
            Top1Agreement = same,
        };
    }

    /// <summary>A two-line summary: memory, then the logits error when measured.</summary>
    /// <returns>The summary.</returns>
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        // Like with like: the NF4 layers against the same layers in bf16, then the whole model with its
        // dense parts (embeddings, norms, head) in bf16 too, whatever dtype they are held in now.
        long wholeNf4 = QuantizedBytes + 2 * DenseWeights;
        string s = string.Format(c, "NF4: {0:N0} weights in {1:N0} bytes ({2:F4} bytes/weight, {3:F4} without the per-tensor tables, vs 2 for bf16: {4:P1} of bf16); " +
            "the whole model with its other weights in bf16: {5:N0} bytes vs {6:N0} ({7:P1})",
            QuantizedWeights, QuantizedBytes, BytesPerQuantizedWeight, BytesPerQuantizedWeightWithoutTables,
            QuantizedWeights == 0 ? 0 : QuantizedBytes / (2.0 * QuantizedWeights), wholeNf4, Bf16Bytes, Bf16Bytes == 0 ? 0 : (double)wholeNf4 / Bf16Bytes);
        if (MaxAbsLogitError is double max)
            s += string.Format(c, "\nlogits vs unquantized: max |Δ| {0:G4}, mean |Δ| {1:G4}, mean relative {2:P2}, top-1 agreement {3:P1}",
                max, MeanAbsLogitError, MeanRelativeLogitError, Top1Agreement);
        return s;
    }
}
