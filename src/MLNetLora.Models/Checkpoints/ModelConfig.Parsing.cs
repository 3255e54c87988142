using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetLora.Models.Checkpoints;

public sealed partial record ModelConfig
{
    /// <summary>The file name transformers reads the model configuration from.</summary>
    public const string FileName = "config.json";

    /// <summary>Reads <c>config.json</c> from a model folder (or from the given file, if the path is a file).</summary>
    /// <exception cref="CheckpointException">The folder or file does not exist, or the config is invalid (see <see cref="Parse"/>).</exception>
    public static ModelConfig Load(string modelDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDir);
        string path = Path.GetFullPath(modelDir);
        if (Directory.Exists(path)) path = Path.Combine(path, FileName);
        if (!File.Exists(path))
            throw new CheckpointException(
                $"'{path}' does not exist. A Hugging Face model folder needs its {FileName} next to the weights; download it with the checkpoint.", path);
        return ParseFrom(File.ReadAllText(path), path);
    }

    /// <summary>Parses the text of a <c>config.json</c>.</summary>
    /// <exception cref="CheckpointException">The text is not a JSON object, <c>model_type</c> is missing or unsupported
    /// (the message lists the supported ones), a required size is missing, or a value has the wrong type.</exception>
    public static ModelConfig Parse(string json) => ParseFrom(json, FileName);

    private static ModelConfig ParseFrom(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{source} is not valid JSON ({e.Message}). Download it again or fix the syntax.", source, e);
        }
        if (node is not JsonObject root)
            throw new CheckpointException($"{source} must hold a JSON object but holds {node?.GetValueKind().ToString() ?? "null"}.", source);
        var r = new ConfigJsonReader(root, source);
        var config = Read(r);
        config.raw = root;
        var snapshot = config with { };
        snapshot.parsed = null;
        config.parsed = snapshot;
        return config;
    }

    private static ModelConfig Read(ConfigJsonReader r)
    {
        string supported = string.Join(", ", SupportedModelTypes);
        string modelType = r.String("model_type")
            ?? throw r.Invalid($"there is no \"model_type\"; this library supports {supported}");
        var defaults = ModelTypeDefaults.For(modelType)
            ?? throw new CheckpointException(
                $"{r.Source}: model_type '{modelType}' is not supported. Supported model types: {supported} " +
                "(SmolLM2 and TinyLlama are 'llama'). Use a checkpoint of one of these architectures.", r.Source);

        int hidden = r.RequiredInt("hidden_size");
        int heads = r.RequiredInt("num_attention_heads");
        if (hidden <= 0 || heads <= 0) throw r.Invalid($"hidden_size ({hidden}) and num_attention_heads ({heads}) must be positive");
        int kvHeads = r.Int("num_key_value_heads") ?? heads;
        if (kvHeads <= 0 || heads % kvHeads != 0)
            throw r.Invalid($"num_attention_heads ({heads}) must be a positive multiple of num_key_value_heads ({kvHeads})");
        int headDim = r.Int("head_dim") ?? defaults.HeadDim ?? hidden / heads;
        var (rope, partialRotary) = ReadRope(r);
        if (partialRotary is <= 0 or > 1) throw r.Invalid($"partial_rotary_factor must be in (0, 1] but is {partialRotary}");
        var id2Label = r.IdToLabel("id2label");

        return new ModelConfig
        {
            ModelType = modelType,
            Architectures = r.StringList("architectures"),
            HiddenSize = hidden,
            IntermediateSize = r.RequiredInt("intermediate_size"),
            NumHiddenLayers = r.RequiredInt("num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = headDim,
            VocabSize = r.RequiredInt("vocab_size"),
            RmsNormEps = r.Double("rms_norm_eps") ?? defaults.RmsNormEps,
            MaxPositionEmbeddings = r.Int("max_position_embeddings") ?? defaults.MaxPositionEmbeddings,
            TieWordEmbeddings = r.Bool("tie_word_embeddings") ?? false,
            AttentionBias = r.Bool("attention_bias") ?? false,
            MlpBias = r.Bool("mlp_bias") ?? false,
            HiddenAct = r.String("hidden_act") ?? "silu",
            TorchDtype = r.String("dtype") ?? r.String("torch_dtype"),
            BosTokenId = r.Int("bos_token_id"),
            EosTokenIds = r.IntOrIntList("eos_token_id"),
            PadTokenId = r.Int("pad_token_id"),
            NumLabels = r.Int("num_labels") ?? id2Label?.Count,
            Id2Label = id2Label,
            Label2Id = r.LabelToId("label2id"),
            PartialRotaryFactor = partialRotary,
            SlidingWindow = ReadSlidingWindow(r, defaults),
            Rope = rope,
        };
    }

    private static int? ReadSlidingWindow(ConfigJsonReader r, ModelTypeDefaults defaults)
    {
        if (!defaults.HasSlidingWindow) return null;
        if (defaults.SlidingWindowNeedsFlag && r.Bool("use_sliding_window") != true) return null;
        // An explicit null disables the window, whereas an absent key means the architecture's default.
        return r.Root.ContainsKey("sliding_window") ? r.Int("sliding_window") : defaults.SlidingWindow;
    }

    private static (RopeParameters Rope, double PartialRotaryFactor) ReadRope(ConfigJsonReader r)
    {
        var scaling = r.Object("rope_scaling");
        if (scaling is { Count: 0 }) scaling = null;
        var parameters = r.Object("rope_parameters");
        if (parameters is { Count: > 0 } && parameters.All(p => p.Value is JsonObject))
            throw r.Invalid($"rope_parameters holds one set per layer type ({string.Join(", ", parameters.Select(p => p.Key))}), which the supported architectures do not use");
        // transformers 5 lets a legacy rope_scaling object replace rope_parameters, and rope_theta falls back to the top level.
        var rope = scaling ?? parameters;
        var result = new RopeParameters
        {
            RopeType = (rope is null ? null : r.String("rope_type", rope) ?? r.String("type", rope)) ?? "default",
            Theta = (rope is null ? null : r.Double("rope_theta", rope)) ?? r.Double("rope_theta") ?? 10_000,
            Factor = rope is null ? null : r.Double("factor", rope),
            LowFreqFactor = rope is null ? null : r.Double("low_freq_factor", rope),
            HighFreqFactor = rope is null ? null : r.Double("high_freq_factor", rope),
            OriginalMaxPositionEmbeddings = r.Int("original_max_position_embeddings") ?? (rope is null ? null : r.Int("original_max_position_embeddings", rope)),
            AttentionFactor = rope is null ? null : r.Double("attention_factor", rope),
            BetaFast = rope is null ? null : r.Double("beta_fast", rope),
            BetaSlow = rope is null ? null : r.Double("beta_slow", rope),
            MScale = rope is null ? null : r.Double("mscale", rope),
            MScaleAllDim = rope is null ? null : r.Double("mscale_all_dim", rope),
            Truncate = rope is null ? null : r.Bool("truncate", rope),
            ShortFactor = rope is null ? null : r.DoubleList("short_factor", rope),
            LongFactor = rope is null ? null : r.DoubleList("long_factor", rope),
        };
        double partial = (rope is null ? null : r.Double("partial_rotary_factor", rope)) ?? r.Double("partial_rotary_factor") ?? 1.0;
        return (result, partial);
    }
}
