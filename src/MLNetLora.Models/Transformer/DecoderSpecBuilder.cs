using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Models.Transformer;

/// <summary>Maps a Hugging Face <see cref="ModelConfig"/> to the <see cref="DecoderSpec"/> the compute code uses.</summary>
public static class DecoderSpecBuilder
{
    /// <summary>Builds the spec; RoPE frequencies follow the config's rope type.</summary>
    /// <exception cref="NotSupportedException">The model type, activation or rope type is not implemented.</exception>
    public static DecoderSpec FromConfig(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var arch = config.ModelType switch
        {
            "llama" => Architecture.Llama,
            "mistral" => Architecture.Mistral,
            "qwen2" => Architecture.Qwen2,
            "qwen3" => Architecture.Qwen3,
            "phi3" => Architecture.Phi3,
            _ => throw new NotSupportedException($"model_type '{config.ModelType}' is not supported; supported: {string.Join(", ", ModelConfig.SupportedModelTypes)}."),
        };
        if (config.HiddenAct is not ("silu" or "swish"))
            throw new NotSupportedException($"hidden_act '{config.HiddenAct}' is not supported; the Llama family uses 'silu'.");
        if (config.NumAttentionHeads % config.NumKeyValueHeads != 0)
            throw new NotSupportedException($"num_attention_heads ({config.NumAttentionHeads}) must be a multiple of num_key_value_heads ({config.NumKeyValueHeads}).");
        var rope = RopeFrequencies.Compute(config);
        return new DecoderSpec(
            arch,
            config.HiddenSize,
            config.IntermediateSize,
            config.NumHiddenLayers,
            config.NumAttentionHeads,
            config.NumKeyValueHeads,
            config.HeadDim,
            config.VocabSize,
            config.RmsNormEps,
            config.TieWordEmbeddings,
            config.HasQkvBias,
            QkNorm: arch == Architecture.Qwen3,
            FusedProjections: arch == Architecture.Phi3,
            rope.InverseFrequencies,
            rope.AttentionScaling,
            config.MaxPositionEmbeddings,
            OutputBias: config.HasOutputProjectionBias,
            MlpBias: config.HasMlpBias)
        {
            LongInverseFrequencies = rope.LongInverseFrequencies,
            LongRopeThreshold = rope.LongThreshold,
            LayerWindows = Enumerable.Range(0, config.NumHiddenLayers).Select(config.AttentionWindow).ToArray(),
        };
    }
}
