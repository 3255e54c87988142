using MLNetLora.LibTorch;

namespace MLNetLora.Models.Transformer;

public sealed partial class DecoderModel
{
    private readonly List<TrainableWeight> trainableWeights = [];

    /// <summary>Base weights that get gradients (full fine-tuning), in <see cref="NamedWeights()"/> order; empty when the base is frozen.</summary>
    /// <remarks>A tied LM head is the embedding table, so it appears once.</remarks>
    public IReadOnlyList<TrainableWeight> TrainableWeights => trainableWeights;

    /// <summary>Gradient of the token embedding table (V, C) when it is trained.</summary>
    public Tensor? GradEmbedding { get; private set; }

    /// <summary>Gradient of the final RMSNorm weight (C) when the base is trained.</summary>
    public Tensor? GradFinalNorm { get; private set; }

    /// <summary>
    /// Gives every base weight not frozen by <paramref name="settings"/> a zeroed gradient buffer, so
    /// backward computes it: embeddings, every norm, linear weight and bias of the unfrozen layers,
    /// the final norm and the LM head (once, when tied to the embeddings).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has LoRA adapters, or its weights are already trained.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="FullTuningSettings.FreezeLayers"/> is negative or above the layer count.</exception>
    public void TrainBaseWeights(FullTuningSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (adapters.Count > 0) throw new InvalidOperationException("The model has LoRA adapters; full fine-tuning trains the base weights instead. Remove the adapters (RemoveLora) first.");
        if (trainableWeights.Count > 0) throw new InvalidOperationException("The base weights already have gradient buffers; TrainBaseWeights is called once per model (the trainer does it for Method = Full).");
        if (settings.FreezeLayers < 0 || settings.FreezeLayers > Layers.Count)
            throw new ArgumentOutOfRangeException(nameof(settings), settings.FreezeLayers, $"FreezeLayers must be between 0 and the model's {Layers.Count} layers.");
        Tensor Train(string name, Tensor w, WeightKind kind)
        {
            var grad = Tensor.Zeros(w.Shape, w.DType, w.Device).DetachFromScopes();
            trainableWeights.Add(new TrainableWeight(name, w, grad, kind));
            return grad;
        }
        if (!settings.FreezeEmbeddings) GradEmbedding = Train("model.embed_tokens.weight", Embedding, WeightKind.Embedding);
        foreach (var layer in Layers.Skip(settings.FreezeLayers))
        {
            string p = $"model.layers.{layer.Index}.";
            layer.GradInputNorm = Train(p + "input_layernorm.weight", layer.InputNorm, WeightKind.Norm);
            layer.GradPostAttentionNorm = Train(p + "post_attention_layernorm.weight", layer.PostAttentionNorm, WeightKind.Norm);
            if (layer.QNorm is not null) layer.GradQNorm = Train(p + "self_attn.q_norm.weight", layer.QNorm, WeightKind.Norm);
            if (layer.KNorm is not null) layer.GradKNorm = Train(p + "self_attn.k_norm.weight", layer.KNorm, WeightKind.Norm);
            foreach (var lin in layer.Linears)
            {
                lin.GradWeight = Train(lin.Name + ".weight", lin.Weight, WeightKind.Matrix);
                if (lin.Bias is not null) lin.GradBias = Train(lin.Name + ".bias", lin.Bias, WeightKind.Bias);
            }
        }
        GradFinalNorm = Train("model.norm.weight", FinalNorm, WeightKind.Norm);
        // A tied head is the embedding table: it shares that gradient (and stays frozen with it).
        LmHead.GradWeight = ReferenceEquals(LmHead.Weight, Embedding) ? GradEmbedding : Train("lm_head.weight", LmHead.Weight, WeightKind.Matrix);
    }

    /// <summary>Number of base-weight elements that get gradients.</summary>
    public long TrainableWeightCount => trainableWeights.Sum(w => w.Value.NumEl);

    // The embedding lookup's backward: each position's gradient goes to its token's row.
    private void AccumulateEmbeddingGrad(Tensor ids, Tensor dEmb)
    {
        if (GradEmbedding is null) return;
        using var scope = TensorScope.Begin();
        long c = dEmb.Size(-1);
        var rows = ids.Reshape(-1, 1).Expand(ids.NumEl, c);                          // (N, C) int64
        GradEmbedding.ScatterAdd_(0, rows, dEmb.Reshape(-1, c));                      // (V, C) += dEmb
    }

    private void ZeroWeightGrads()
    {
        foreach (var w in trainableWeights) w.Grad.Zero_();
    }

    private void DisposeWeightGrads()
    {
        foreach (var w in trainableWeights) w.Grad.Dispose();
        trainableWeights.Clear();
    }
}
