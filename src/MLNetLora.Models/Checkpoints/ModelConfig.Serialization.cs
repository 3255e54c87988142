using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetLora.Models.Checkpoints;

public sealed partial record ModelConfig
{
    private static readonly JsonSerializerOptions WriteOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    // Keys written as-is when their value changed; dtype, sliding window and RoPE need their own rules below.
    private static readonly (string Key, Func<ModelConfig, JsonNode?> Value)[] SimpleKeys =
    [
        ("model_type", c => c.ModelType),
        ("architectures", c => new JsonArray(c.Architectures.Select(a => (JsonNode?)a).ToArray())),
        ("hidden_size", c => c.HiddenSize),
        ("intermediate_size", c => c.IntermediateSize),
        ("num_hidden_layers", c => c.NumHiddenLayers),
        ("num_attention_heads", c => c.NumAttentionHeads),
        ("num_key_value_heads", c => c.NumKeyValueHeads),
        ("head_dim", c => c.HeadDim),
        ("vocab_size", c => c.VocabSize),
        ("rms_norm_eps", c => Number(c.RmsNormEps)),
        ("max_position_embeddings", c => c.MaxPositionEmbeddings),
        ("tie_word_embeddings", c => c.TieWordEmbeddings),
        ("attention_bias", c => c.AttentionBias),
        ("mlp_bias", c => c.MlpBias),
        ("hidden_act", c => c.HiddenAct),
        ("bos_token_id", c => c.BosTokenId),
        ("eos_token_id", c => c.EosTokenIds.Count == 1 ? c.EosTokenIds[0] : new JsonArray(c.EosTokenIds.Select(i => (JsonNode?)i).ToArray())),
        ("pad_token_id", c => c.PadTokenId),
        ("num_labels", c => c.NumLabels),
        ("id2label", c => c.Id2Label is null ? null : new JsonObject(c.Id2Label.OrderBy(p => p.Key)
            .Select(p => KeyValuePair.Create(p.Key.ToString(CultureInfo.InvariantCulture), (JsonNode?)p.Value)))),
        ("label2id", c => c.Label2Id is null ? null : new JsonObject(c.Label2Id.OrderBy(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)))),
    ];

    /// <summary>
    /// The config as transformers-readable JSON (2-space indent, trailing newline). Starts from the parsed JSON so unknown
    /// keys survive, and rewrites a modelled key only when its value differs from the parsed one, in the style the
    /// original used (e.g. <c>rope_parameters</c> vs <c>rope_theta</c> + <c>rope_scaling</c>, <c>dtype</c> vs <c>torch_dtype</c>).
    /// </summary>
    public string ToJson()
    {
        var root = (JsonObject)raw.DeepClone();
        var before = parsed ?? this;
        foreach (var (key, value) in SimpleKeys)
        {
            var now = value(this);
            if (!JsonNode.DeepEquals(now, value(before))) root[key] = now;
        }
        if (TorchDtype != before.TorchDtype)
            root[root.ContainsKey("torch_dtype") && !root.ContainsKey("dtype") ? "torch_dtype" : "dtype"] = TorchDtype;
        if (SlidingWindow != before.SlidingWindow) WriteSlidingWindow(root);
        if (PartialRotaryFactor != before.PartialRotaryFactor)
        {
            root["partial_rotary_factor"] = Number(PartialRotaryFactor);
            if (root["rope_parameters"] is JsonObject p && p.ContainsKey("partial_rotary_factor")) p["partial_rotary_factor"] = Number(PartialRotaryFactor);
        }
        if (Rope != before.Rope) WriteRope(root);
        return root.ToJsonString(WriteOptions) + "\n";
    }

    /// <summary>Writes <see cref="ToJson"/> to <c>config.json</c> in <paramref name="modelDir"/> (created if needed), atomically.</summary>
    /// <exception cref="IOException">The file could not be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable.</exception>
    public void Save(string modelDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDir);
        byte[] bytes = Encoding.UTF8.GetBytes(ToJson());
        AtomicFile.Write(Path.Combine(modelDir, FileName), stream => stream.Write(bytes));
    }

    private void WriteSlidingWindow(JsonObject root)
    {
        if (ModelTypeDefaults.For(ModelType) is { SlidingWindowNeedsFlag: true })
        {
            // Qwen ignores sliding_window unless use_sliding_window is set, so toggle the flag and keep the old size when disabling.
            root["use_sliding_window"] = SlidingWindow is not null;
            if (SlidingWindow is not null) root["sliding_window"] = SlidingWindow;
            return;
        }
        root["sliding_window"] = SlidingWindow;
    }

    private void WriteRope(JsonObject root)
    {
        bool legacy = root["rope_scaling"] is JsonObject { Count: > 0 } || root["rope_parameters"] is not JsonObject;
        string target = legacy ? "rope_scaling" : "rope_parameters";
        var obj = root[target] as JsonObject ?? new JsonObject();
        // A top-level value wins when parsing (Phi-3), so it stays there rather than gaining a second copy.
        bool originalAtTop = root["original_max_position_embeddings"] is not null;
        if (originalAtTop) root["original_max_position_embeddings"] = Rope.OriginalMaxPositionEmbeddings;
        if (legacy)
        {
            root["rope_theta"] = Number(Rope.Theta);
            if (obj.ContainsKey("rope_theta")) obj["rope_theta"] = Number(Rope.Theta);
            bool needsObject = Rope.RopeType != "default" || Rope.Factor is not null || Rope.LowFreqFactor is not null
                || Rope.HighFreqFactor is not null || Rope.AttentionFactor is not null
                || (!originalAtTop && Rope.OriginalMaxPositionEmbeddings is not null);
            if (!needsObject)
            {
                // Unscaled RoPE in the old style is a bare rope_theta; transformers writes rope_scaling as null.
                if (root.ContainsKey("rope_scaling")) root["rope_scaling"] = null;
                return;
            }
        }
        else
        {
            obj["rope_theta"] = Number(Rope.Theta);
        }
        obj[obj.ContainsKey("type") && !obj.ContainsKey("rope_type") ? "type" : "rope_type"] = Rope.RopeType;
        SetOrRemove(obj, "factor", Rope.Factor);
        SetOrRemove(obj, "low_freq_factor", Rope.LowFreqFactor);
        SetOrRemove(obj, "high_freq_factor", Rope.HighFreqFactor);
        SetOrRemove(obj, "attention_factor", Rope.AttentionFactor);
        if (!originalAtTop && Rope.OriginalMaxPositionEmbeddings is { } original) obj["original_max_position_embeddings"] = original;
        else obj.Remove("original_max_position_embeddings");
        if (obj.Parent is null) root[target] = obj;
    }

    private static void SetOrRemove(JsonObject obj, string key, double? value)
    {
        if (value is { } v) obj[key] = Number(v);
        else obj.Remove(key);
    }

    /// <summary>A double as JSON that Python reads back as a float: whole numbers keep a ".0" (transformers warns on int factors).</summary>
    private static JsonNode Number(double value) =>
        double.IsFinite(value) && value == Math.Floor(value) && Math.Abs(value) < 1e15
            ? JsonNode.Parse(value.ToString("0.0", CultureInfo.InvariantCulture))!
            : JsonValue.Create(value);
}
