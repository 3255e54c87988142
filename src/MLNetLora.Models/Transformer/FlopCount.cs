namespace MLNetLora.Models.Transformer;

/// <summary>
/// Matmul FLOPs of a LoRA training step, per token, for model-FLOPs utilisation (achieved FLOP/s over the device's
/// matmul peak). Counted: the forward matmuls of every linear layer and the LM head (2 FLOPs per weight per token);
/// the input gradients through the same frozen weights (as many again; a frozen weight gets no weight gradient);
/// attention's two matmuls forward (QKᵀ and PV over the whole T × T square, which is what the kernels compute when
/// the mask is an explicit bias) and twice that backward; and each adapter's A and B forward, input-gradient and
/// weight-gradient matmuls. Element-wise work (norms, RoPE, softmax, SiLU) and the optimizer are left out, as in
/// PaLM's MFU and the GPU issue's ceiling (5.4 GFLOP per token for Llama-3.2-1B at T = 1024).
/// </summary>
public static class FlopCount
{
    /// <summary>The LoRA step's FLOPs per token.</summary>
    /// <param name="spec">The model's shape.</param>
    /// <param name="sequenceLength">Tokens per sequence (attention's cost grows with it).</param>
    /// <param name="loraRank">The adapters' rank; 0 for none.</param>
    /// <param name="adaptedPerLayer">(in, out) of each adapted linear in one layer; null: all seven projections.</param>
    /// <exception cref="ArgumentOutOfRangeException">A length or rank is negative or the length is 0.</exception>
    public static double LoraStepPerToken(DecoderSpec spec, int sequenceLength, int loraRank, IReadOnlyList<(int In, int Out)>? adaptedPerLayer = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        ArgumentOutOfRangeException.ThrowIfNegative(loraRank);
        double frozen = spec.NumLayers * LayerWeights(spec) + (double)spec.VocabSize * spec.HiddenSize;
        double attentionForward = spec.NumLayers * 2.0 * 2.0 * spec.NumHeads * spec.HeadDim * sequenceLength;
        var adapted = adaptedPerLayer ?? Projections(spec);
        double lora = spec.NumLayers * adapted.Sum(p => 6.0 * loraRank * (p.In + p.Out));
        return 2 * frozen + 2 * frozen + attentionForward * 3 + lora;
    }

    /// <summary>The forward pass's FLOPs per token (inference, prefill): linear layers, LM head and attention.</summary>
    public static double ForwardPerToken(DecoderSpec spec, int sequenceLength)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        double frozen = spec.NumLayers * LayerWeights(spec) + (double)spec.VocabSize * spec.HiddenSize;
        return 2 * frozen + spec.NumLayers * 4.0 * spec.NumHeads * spec.HeadDim * sequenceLength;
    }

    /// <summary>(in, out) of q, k, v, o, gate, up and down in one layer.</summary>
    public static IReadOnlyList<(int In, int Out)> Projections(DecoderSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int d = spec.HiddenSize, q = spec.NumHeads * spec.HeadDim, kv = spec.NumKvHeads * spec.HeadDim, i = spec.IntermediateSize;
        return [(d, q), (d, kv), (d, kv), (q, d), (d, i), (d, i), (i, d)];
    }

    private static double LayerWeights(DecoderSpec spec) => Projections(spec).Sum(p => (double)p.In * p.Out);
}
