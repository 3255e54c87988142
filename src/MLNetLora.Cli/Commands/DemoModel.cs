using System.Globalization;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// The demo's base model: a tiny Llama (grouped-query attention, SiLU MLP, RoPE) pretrained on Moby-Dick
/// by tools/demo-model/make_inputs.sh (PyTorch, 3,000 steps; its weights ship inside the tool), written as
/// a Hugging Face folder (config.json, model.safetensors and the embedded tokenizer) so every other
/// command (<c>inspect</c>, <c>merge</c>, <c>forward</c>, <c>generate</c>) works on it.
/// </summary>
public static class DemoModel
{
    /// <summary>Residual width.</summary>
    public const int HiddenSize = 128;

    /// <summary>MLP width (8/3 of the hidden size, rounded up to a multiple of 8, as Llama does).</summary>
    public const int IntermediateSize = 344;

    /// <summary>Decoder layers.</summary>
    public const int Layers = 2;

    /// <summary>Query heads.</summary>
    public const int Heads = 4;

    /// <summary>Key/value heads (two query heads share each: grouped-query attention).</summary>
    public const int KvHeads = 2;

    /// <summary>Longest sequence the position tables cover.</summary>
    public const int MaxPositions = 512;

    /// <summary>Writes config.json and model.safetensors for a model over <paramref name="vocabSize"/> tokens.</summary>
    /// <param name="directory">Destination folder (created if needed).</param>
    /// <param name="vocabSize">The tokenizer's vocabulary size.</param>
    /// <param name="bosId">Beginning-of-sequence id, if the tokenizer has one.</param>
    /// <param name="eosId">End-of-sequence id, if the tokenizer has one.</param>
    /// <param name="padId">Padding id, if the tokenizer has one.</param>
    public static void Write(string directory, int vocabSize, int? bosId, int? eosId, int? padId)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabSize);
        Directory.CreateDirectory(directory);
        Config(vocabSize, bosId, eosId, padId).Save(directory);
        DemoResources.WriteFile(DemoResources.Weights, Path.Combine(directory, ModelCheckpoint.SingleFileName));
    }

    /// <summary>Number of weights of the model over <paramref name="vocabSize"/> tokens.</summary>
    public static long ParameterCount(int vocabSize)
    {
        long c = HiddenSize, d = HiddenSize / Heads;
        long attention = c * Heads * d * 2 + c * KvHeads * d * 2;
        long layer = attention + 3L * c * IntermediateSize + 2 * c;
        return 2L * vocabSize * c + Layers * layer + c;
    }

    /// <summary>The model's config.json contents.</summary>
    public static ModelConfig Config(int vocabSize, int? bosId, int? eosId, int? padId)
    {
        string Id(int? id) => id is int v ? v.ToString(CultureInfo.InvariantCulture) : "null";
        string json = string.Create(CultureInfo.InvariantCulture, $$"""
            {
              "architectures": ["LlamaForCausalLM"],
              "model_type": "llama",
              "hidden_size": {{HiddenSize}},
              "intermediate_size": {{IntermediateSize}},
              "num_hidden_layers": {{Layers}},
              "num_attention_heads": {{Heads}},
              "num_key_value_heads": {{KvHeads}},
              "head_dim": {{HiddenSize / Heads}},
              "hidden_act": "silu",
              "max_position_embeddings": {{MaxPositions}},
              "rms_norm_eps": 1e-05,
              "rope_theta": 10000.0,
              "tie_word_embeddings": false,
              "attention_bias": false,
              "mlp_bias": false,
              "vocab_size": {{vocabSize}},
              "bos_token_id": {{Id(bosId)}},
              "eos_token_id": {{Id(eosId)}},
              "pad_token_id": {{Id(padId)}},
              "dtype": "float32"
            }
            """);
        return ModelConfig.Parse(json);
    }
}
