namespace MLNetLora.Models.Transformer;

/// <summary>
/// The shape of a decoder-only transformer as the compute code needs it, independent of how a
/// checkpoint names things. Built from a Hugging Face config by <c>DecoderSpecBuilder</c>.
/// </summary>
/// <param name="Architecture">Family: decides weight names and which optional parts exist.</param>
/// <param name="HiddenSize">Residual width C.</param>
/// <param name="IntermediateSize">MLP width I.</param>
/// <param name="NumLayers">Number of decoder layers.</param>
/// <param name="NumHeads">Query heads H.</param>
/// <param name="NumKvHeads">Key/value heads (grouped-query attention when fewer than H).</param>
/// <param name="HeadDim">Per-head width D.</param>
/// <param name="VocabSize">Vocabulary size V.</param>
/// <param name="RmsNormEps">RMSNorm epsilon.</param>
/// <param name="TiedEmbeddings">The LM head reuses the embedding matrix.</param>
/// <param name="QkvBias">q/k/v projections have biases (Qwen2).</param>
/// <param name="QkNorm">Per-head RMSNorm on queries and keys before RoPE (Qwen3).</param>
/// <param name="FusedProjections">q/k/v and gate/up are stored fused (Phi-3).</param>
/// <param name="InverseFrequencies">RoPE inverse frequencies, one per rotary pair.</param>
/// <param name="RopeAttentionScaling">Factor applied to cos/sin (1 except for some scaled ropes).</param>
/// <param name="MaxPositions">Longest sequence the position tables cover.</param>
/// <param name="OutputBias">o_proj has a bias (Llama with attention_bias).</param>
/// <param name="MlpBias">gate/up/down have biases (Llama with mlp_bias).</param>
public sealed record DecoderSpec(
    Architecture Architecture,
    int HiddenSize,
    int IntermediateSize,
    int NumLayers,
    int NumHeads,
    int NumKvHeads,
    int HeadDim,
    int VocabSize,
    double RmsNormEps,
    bool TiedEmbeddings,
    bool QkvBias,
    bool QkNorm,
    bool FusedProjections,
    double[] InverseFrequencies,
    double RopeAttentionScaling,
    int MaxPositions,
    bool OutputBias = false,
    bool MlpBias = false)
{
    /// <summary><c>longrope</c>: the frequencies of sequences longer than <see cref="LongRopeThreshold"/>; null otherwise.</summary>
    public double[]? LongInverseFrequencies { get; init; }

    /// <summary><c>longrope</c>: the original context length at which the long frequencies take over.</summary>
    public int? LongRopeThreshold { get; init; }

    /// <summary>Sliding attention window of each layer (null: full context), as config.json's sliding_window and layer types set it.</summary>
    public IReadOnlyList<int?> LayerWindows { get; init; } = [];

    /// <summary>Width of the rotary part of each head (less than <see cref="HeadDim"/> for partial rotary).</summary>
    public int RotaryDim => InverseFrequencies.Length * 2;

    /// <summary>Query heads per key/value head.</summary>
    public int KvGroups => NumHeads / NumKvHeads;
}

/// <summary>Decoder families MLNetLora implements.</summary>
public enum Architecture
{
    /// <summary>Llama 2/3/3.1+, SmolLM2, TinyLlama.</summary>
    Llama,
    /// <summary>Mistral (Llama layout).</summary>
    Mistral,
    /// <summary>Qwen2 / Qwen2.5: q/k/v biases, usually tied embeddings.</summary>
    Qwen2,
    /// <summary>Qwen3: per-head q/k RMSNorm.</summary>
    Qwen3,
    /// <summary>Phi-3: fused qkv_proj and gate_up_proj.</summary>
    Phi3,
}
