namespace MLNetLora.Tests.Checkpoints;

/// <summary>config.json texts in the shapes real checkpoints ship, trimmed to the keys the tests need.</summary>
internal static class ConfigSamples
{
    /// <summary>Llama 3.1 8B: old-style rope_theta + rope_scaling (llama3), eos as a list, torch_dtype.</summary>
    public const string Llama31 = """
        {
          "architectures": ["LlamaForCausalLM"],
          "attention_bias": false,
          "bos_token_id": 128000,
          "eos_token_id": [128001, 128008, 128009],
          "hidden_act": "silu",
          "hidden_size": 4096,
          "intermediate_size": 14336,
          "max_position_embeddings": 131072,
          "mlp_bias": false,
          "model_type": "llama",
          "num_attention_heads": 32,
          "num_hidden_layers": 32,
          "num_key_value_heads": 8,
          "pretraining_tp": 1,
          "rms_norm_eps": 1e-05,
          "rope_scaling": {
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192,
            "rope_type": "llama3"
          },
          "rope_theta": 500000.0,
          "tie_word_embeddings": false,
          "torch_dtype": "bfloat16",
          "transformers_version": "4.43.0.dev0",
          "use_cache": true,
          "vocab_size": 128256
        }
        """;

    /// <summary>Phi-4-mini style: model_type phi3 with a partial rotary factor and an explicit head_dim-less layout.</summary>
    public const string Phi3Partial = """
        {
          "model_type": "phi3",
          "hidden_size": 3072,
          "intermediate_size": 8192,
          "num_hidden_layers": 32,
          "num_attention_heads": 24,
          "num_key_value_heads": 8,
          "vocab_size": 200064,
          "partial_rotary_factor": 0.75,
          "rope_theta": 10000.0,
          "rope_scaling": null,
          "original_max_position_embeddings": 4096,
          "sliding_window": 262144,
          "tie_word_embeddings": true,
          "torch_dtype": "bfloat16"
        }
        """;

    /// <summary>A minimal config of the given type, for defaults and error cases; extra JSON members are spliced in.</summary>
    public static string Minimal(string modelType, string extra = "") => $$"""
        {
          "model_type": "{{modelType}}",
          "hidden_size": 64,
          "intermediate_size": 160,
          "num_hidden_layers": 4,
          "num_attention_heads": 4,
          "vocab_size": 100{{(extra.Length > 0 ? "," + extra : "")}}
        }
        """;
}
