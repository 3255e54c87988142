using System.Globalization;
using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// The demo's base model: a tiny Llama (grouped-query attention, SiLU MLP, RoPE) with random weights
/// drawn from a fixed seed, written as a Hugging Face folder (config.json, model.safetensors, and the
/// embedded tokenizer) so every other command (<c>inspect</c>, <c>merge</c>, <c>forward</c>) works on it.
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

    /// <summary>The seed every weight is drawn from, so each run builds the same model bit for bit.</summary>
    public const ulong Seed = 20240611;

    // Weights are drawn as transformers initialises a Llama (normal, std 0.02), except the LM head:
    // after the final RMSNorm the hidden state has norm sqrt(C), so at 0.02 the logits could only span
    // about ±2.5 and no adapter could make any token likely. At 0.08 the adapters can reach useful logits
    // while the untrained model starts only about half a nat above the uniform loss ln(vocab).
    private const double InitStd = 0.02;
    private const double HeadStd = 0.08;

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
        var tensors = Weights(vocabSize);
        try
        {
            SafeTensorsWriter.Write(Path.Combine(directory, ModelCheckpoint.SingleFileName), tensors,
                new Dictionary<string, string> { ["format"] = "pt" });
        }
        finally
        {
            foreach (var kv in tensors) kv.Value.Dispose();
        }
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

    private static List<KeyValuePair<string, Tensor>> Weights(int vocab)
    {
        var g = new Generator(Seed);
        var list = new List<KeyValuePair<string, Tensor>>();
        void Normal(string name, double std, params long[] shape)
        {
            using var scope = TensorScope.Begin();
            var scaled = Tensor.Randn(shape, g) * std;
            list.Add(new(name, scope.Keep(scaled).DetachFromScopes()));
        }
        void Ones(string name, long size) => list.Add(new(name, Tensor.Ones([size]).DetachFromScopes()));

        long c = HiddenSize, i = IntermediateSize, d = HiddenSize / Heads;
        Normal("model.embed_tokens.weight", InitStd, vocab, c);
        for (int l = 0; l < Layers; l++)
        {
            string p = $"model.layers.{l}.";
            Ones(p + "input_layernorm.weight", c);
            Normal(p + "self_attn.q_proj.weight", InitStd, Heads * d, c);
            Normal(p + "self_attn.k_proj.weight", InitStd, KvHeads * d, c);
            Normal(p + "self_attn.v_proj.weight", InitStd, KvHeads * d, c);
            Normal(p + "self_attn.o_proj.weight", InitStd, c, Heads * d);
            Ones(p + "post_attention_layernorm.weight", c);
            Normal(p + "mlp.gate_proj.weight", InitStd, i, c);
            Normal(p + "mlp.up_proj.weight", InitStd, i, c);
            Normal(p + "mlp.down_proj.weight", InitStd, c, i);
        }
        Ones("model.norm.weight", c);
        Normal("lm_head.weight", HeadStd, vocab, c);
        return list;
    }
}
