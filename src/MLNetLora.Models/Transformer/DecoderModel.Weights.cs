using MLNetLora.LibTorch;

namespace MLNetLora.Models.Transformer;

public sealed partial class DecoderModel
{
    /// <summary>
    /// The Hugging Face name of the first base weight holding a NaN or an infinity, or null when all
    /// are finite. One sum per tensor: a sum is finite exactly when every element is (weights are far
    /// too small for a float32 sum to overflow).
    /// </summary>
    /// <remarks>An NF4 weight is checked through its block scales: a NaN or infinity in the weight it came from makes its block's absmax non-finite.</remarks>
    public string? FirstNonFiniteWeight()
    {
        foreach (var (name, w) in NamedWeights(skipQuantized: true))
        {
            using var scope = TensorScope.Begin();
            var total = w.To(DType.Float32).Sum().To(Device.Cpu).ToArray<float>()[0];
            if (!float.IsFinite(total)) return name;
        }
        foreach (var lin in Linears)
            if (lin.QuantizedWeight is { } q && !q.ScalesAreFinite()) return lin.Name + ".weight";
        return null;
    }

    /// <summary>
    /// Every base weight under its Hugging Face name (adapters excluded; merge them first to export
    /// a merged model). A tied LM head is not listed, as transformers omits it.
    /// </summary>
    /// <exception cref="InvalidOperationException">Base weights are stored in 4-bit NF4 (<see cref="QuantizeBaseWeights"/>): call <see cref="MergeAdapters"/> or <see cref="DequantizeBaseWeights"/> first.</exception>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedWeights()
    {
        // Checked before the first item so an export fails before it writes anything.
        if (IsQuantized)
            throw new InvalidOperationException("The decoder layers' base weights are stored in 4-bit NF4 (QLoRA); call MergeAdapters() or DequantizeBaseWeights() " +
                "to make them dense in the compute dtype before exporting or reading them.");
        return NamedWeights(skipQuantized: false);
    }

    private IEnumerable<KeyValuePair<string, Tensor>> NamedWeights(bool skipQuantized)
    {
        yield return new("model.embed_tokens.weight", Embedding);
        foreach (var layer in Layers)
        {
            string p = $"model.layers.{layer.Index}.";
            yield return new(p + "input_layernorm.weight", layer.InputNorm);
            yield return new(p + "post_attention_layernorm.weight", layer.PostAttentionNorm);
            if (layer.QNorm is not null) yield return new(p + "self_attn.q_norm.weight", layer.QNorm);
            if (layer.KNorm is not null) yield return new(p + "self_attn.k_norm.weight", layer.KNorm);
            foreach (var lin in layer.Linears)
            {
                if (!(skipQuantized && lin.QuantizedWeight is not null)) yield return new(lin.Name + ".weight", lin.Weight);
                if (lin.Bias is not null) yield return new(lin.Name + ".bias", lin.Bias);
            }
        }
        yield return new("model.norm.weight", FinalNorm);
        if (!ReferenceEquals(LmHead.Weight, Embedding)) yield return new("lm_head.weight", LmHead.Weight);
        if (ScoreHead is not null) yield return new("score.weight", ScoreHead.Weight);
    }
}
