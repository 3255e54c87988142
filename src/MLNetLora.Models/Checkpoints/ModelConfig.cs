using System.Text.Json.Nodes;
using MLNetLora.LibTorch;

namespace MLNetLora.Models.Checkpoints;

/// <summary>
/// A Hugging Face <c>config.json</c> for the supported decoder architectures (llama, mistral, qwen2, qwen3, phi3),
/// with transformers' defaults applied to absent keys. Create one with <see cref="Load"/> or <see cref="Parse"/>,
/// change it with a <c>with</c> expression, and write it with <see cref="Save"/> or <see cref="ToJson"/>: keys this type
/// does not model are kept, and keys it models are rewritten only when their value changed.
/// </summary>
public sealed partial record ModelConfig
{
    private JsonObject raw = new();

    // The values as parsed, so ToJson rewrites only what a `with` expression changed. Null on that snapshot itself.
    private ModelConfig? parsed;

    private ModelConfig()
    {
    }

    /// <summary>The architecture family (<c>model_type</c>): llama, mistral, qwen2, qwen3 or phi3.</summary>
    public string ModelType { get; init; } = "";

    /// <summary>The model classes the checkpoint was saved from (<c>architectures</c>), e.g. LlamaForCausalLM; empty when absent.</summary>
    public IReadOnlyList<string> Architectures { get; init; } = [];

    /// <summary>Width of the residual stream (<c>hidden_size</c>).</summary>
    public int HiddenSize { get; init; }

    /// <summary>Width of the MLP's hidden layer (<c>intermediate_size</c>).</summary>
    public int IntermediateSize { get; init; }

    /// <summary>Number of decoder layers (<c>num_hidden_layers</c>).</summary>
    public int NumHiddenLayers { get; init; }

    /// <summary>Number of query heads (<c>num_attention_heads</c>).</summary>
    public int NumAttentionHeads { get; init; }

    /// <summary>Number of key/value heads (<c>num_key_value_heads</c>; defaults to <see cref="NumAttentionHeads"/>).</summary>
    public int NumKeyValueHeads { get; init; }

    /// <summary>Size of each head (<c>head_dim</c>; defaults to hidden_size / num_attention_heads, or 128 for qwen3).</summary>
    public int HeadDim { get; init; }

    /// <summary>Vocabulary size (<c>vocab_size</c>).</summary>
    public int VocabSize { get; init; }

    /// <summary>Epsilon of the RMS norms (<c>rms_norm_eps</c>).</summary>
    public double RmsNormEps { get; init; }

    /// <summary>Longest sequence the model was configured for (<c>max_position_embeddings</c>).</summary>
    public int MaxPositionEmbeddings { get; init; }

    /// <summary>Whether the LM head reuses the embedding matrix (<c>tie_word_embeddings</c>, default false).</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary>The <c>attention_bias</c> key as written (default false). Use <see cref="HasQkvBias"/> and <see cref="HasOutputProjectionBias"/> to build layers.</summary>
    public bool AttentionBias { get; init; }

    /// <summary>The <c>mlp_bias</c> key as written (default false). Use <see cref="HasMlpBias"/> to build layers.</summary>
    public bool MlpBias { get; init; }

    /// <summary>The MLP activation (<c>hidden_act</c>, default <c>silu</c>).</summary>
    public string HiddenAct { get; init; } = "silu";

    /// <summary>The weights' dtype as the config names it (<c>dtype</c>, or the older <c>torch_dtype</c>), e.g. <c>bfloat16</c>.</summary>
    public string? TorchDtype { get; init; }

    /// <summary>The beginning-of-sequence token id, when the config sets one.</summary>
    public int? BosTokenId { get; init; }

    /// <summary>The end-of-sequence token ids (config.json may give one id or a list); empty when unset.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary>The padding token id, when the config sets one.</summary>
    public int? PadTokenId { get; init; }

    /// <summary>Number of classification labels (<c>num_labels</c>, else the size of <c>id2label</c>); null when neither is present.</summary>
    public int? NumLabels { get; init; }

    /// <summary>Label names by id (<c>id2label</c>), when present.</summary>
    public IReadOnlyDictionary<int, string>? Id2Label { get; init; }

    /// <summary>Label ids by name (<c>label2id</c>), when present.</summary>
    public IReadOnlyDictionary<string, int>? Label2Id { get; init; }

    /// <summary>Fraction of each head that is rotated (<c>partial_rotary_factor</c>, Phi-3 style; default 1).</summary>
    public double PartialRotaryFactor { get; init; } = 1.0;

    /// <summary>
    /// The attention window in tokens, or null for full attention. For qwen2/qwen3 it is null unless
    /// <c>use_sliding_window</c> is true, and it applies only to some layers: see <see cref="AttentionWindow"/>. Llama has none.
    /// </summary>
    public int? SlidingWindow { get; init; }

    /// <summary>Rotary embedding settings.</summary>
    public RopeParameters Rope { get; init; } = new();

    /// <summary>Whether q_proj, k_proj and v_proj have biases: always for qwen2, <c>attention_bias</c> for llama and qwen3, never for mistral and phi3.</summary>
    public bool HasQkvBias => ModelType switch
    {
        "qwen2" => true,
        "llama" or "qwen3" => AttentionBias,
        _ => false,
    };

    /// <summary>Whether o_proj has a bias: <c>attention_bias</c> for llama and qwen3, never for the others.</summary>
    public bool HasOutputProjectionBias => ModelType is "llama" or "qwen3" && AttentionBias;

    /// <summary>Whether the MLP projections have biases: <c>mlp_bias</c> for llama, never for the others.</summary>
    public bool HasMlpBias => ModelType == "llama" && MlpBias;

    /// <summary>Number of leading channels of each head that RoPE rotates: head_dim × partial_rotary_factor.</summary>
    public int RotaryDim => (int)(HeadDim * PartialRotaryFactor);

    /// <summary>The weights' dtype as a <see cref="DType"/>, or null when the config names none (or <c>auto</c>).</summary>
    public DType? WeightDType => TorchDtype switch
    {
        "float32" or "float" => DType.Float32,
        "bfloat16" => DType.BFloat16,
        "float16" or "half" => DType.Float16,
        "float64" or "double" => DType.Float64,
        _ => null,
    };

    /// <summary>The supported <c>model_type</c> values.</summary>
    public static IReadOnlyList<string> SupportedModelTypes => ModelTypeDefaults.SupportedModelTypes;

    /// <summary>
    /// The sliding attention window of layer <paramref name="layer"/>, or null when it attends to the full context.
    /// Mistral and Phi-3 apply <see cref="SlidingWindow"/> to every layer; Qwen follows config.json's <c>layer_types</c>,
    /// else uses the window from layer <c>max_window_layers</c> on, as transformers does.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="layer"/> is not a layer index.</exception>
    public int? AttentionWindow(int layer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, NumHiddenLayers);
        if (SlidingWindow is null || ModelType is not ("qwen2" or "qwen3")) return SlidingWindow;
        if (raw["layer_types"] is JsonArray types && types.Count == NumHiddenLayers)
            return types[layer] is JsonValue type && type.TryGetValue(out string? name) && name == "sliding_attention" ? SlidingWindow : null;
        int firstSliding = raw["max_window_layers"] is JsonValue v && v.TryGetValue(out int m) ? m : ModelTypeDefaults.QwenMaxWindowLayers;
        return layer >= firstSliding ? SlidingWindow : null;
    }

    /// <summary>Configs are equal when they serialize to the same JSON.</summary>
    public bool Equals(ModelConfig? other) => other is not null && (ReferenceEquals(this, other) || ToJson() == other.ToJson());

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(ModelType, HiddenSize, NumHiddenLayers, VocabSize);

    /// <inheritdoc/>
    public override string ToString() =>
        $"ModelConfig({ModelType}: hidden {HiddenSize}, {NumHiddenLayers} layers, {NumAttentionHeads} heads / {NumKeyValueHeads} kv × {HeadDim}, " +
        $"intermediate {IntermediateSize}, vocab {VocabSize}, rope {Rope.RopeType} θ={Rope.Theta})";
}
