using System.Text.Json;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Models.Generation;

/// <summary>
/// The parts of a model folder's <c>generation_config.json</c> that decoding uses: stop and pad ids and
/// the sampling defaults the model's authors chose (absent values are null).
/// </summary>
public sealed record GenerationConfig
{
    /// <summary>The file name transformers reads.</summary>
    public const string FileName = "generation_config.json";

    /// <summary><c>eos_token_id</c>: one id or several; empty when absent.</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary><c>pad_token_id</c>.</summary>
    public int? PadTokenId { get; init; }

    /// <summary><c>bos_token_id</c>.</summary>
    public int? BosTokenId { get; init; }

    /// <summary><c>do_sample</c>.</summary>
    public bool? DoSample { get; init; }

    /// <summary><c>temperature</c>.</summary>
    public double? Temperature { get; init; }

    /// <summary><c>top_k</c>.</summary>
    public int? TopK { get; init; }

    /// <summary><c>top_p</c>.</summary>
    public double? TopP { get; init; }

    /// <summary><c>repetition_penalty</c>.</summary>
    public double? RepetitionPenalty { get; init; }

    /// <summary><c>max_new_tokens</c>.</summary>
    public int? MaxNewTokens { get; init; }

    /// <summary>Reads <c>generation_config.json</c> from a model folder; an empty config when the folder has none.</summary>
    /// <param name="modelDir">The model folder.</param>
    /// <returns>The config.</returns>
    /// <exception cref="CheckpointException">The file is not valid JSON or a value has the wrong type.</exception>
    public static GenerationConfig Load(string modelDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDir);
        string path = Path.Combine(modelDir, FileName);
        return File.Exists(path) ? Parse(File.ReadAllText(path), path) : new GenerationConfig();
    }

    /// <summary>Parses the text of a <c>generation_config.json</c>.</summary>
    /// <param name="json">The file's text.</param>
    /// <param name="source">Named in error messages.</param>
    /// <returns>The config.</returns>
    /// <exception cref="CheckpointException">The text is not a JSON object or a value has the wrong type.</exception>
    public static GenerationConfig Parse(string json, string source = FileName)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{source} is not valid JSON ({e.Message}). Download it again or delete it to use the defaults.", source, e);
        }
        if (root.ValueKind != JsonValueKind.Object)
            throw new CheckpointException($"{source} must hold a JSON object.", source);
        var r = new Reader(root, source);
        return new GenerationConfig
        {
            EosTokenIds = r.IntOrList("eos_token_id"),
            PadTokenId = r.Int("pad_token_id"),
            BosTokenId = r.Int("bos_token_id"),
            DoSample = r.Bool("do_sample"),
            Temperature = r.Double("temperature"),
            TopK = r.Int("top_k"),
            TopP = r.Double("top_p"),
            RepetitionPenalty = r.Double("repetition_penalty"),
            MaxNewTokens = r.Int("max_new_tokens"),
        };
    }

    /// <summary>Options with this config's values where it has them and <see cref="GenerationOptions"/>' defaults elsewhere.</summary>
    /// <returns>The options.</returns>
    public GenerationOptions ToOptions()
    {
        var d = new GenerationOptions();
        return d with
        {
            DoSample = DoSample ?? d.DoSample,
            Temperature = Temperature ?? d.Temperature,
            TopK = TopK ?? d.TopK,
            TopP = TopP ?? d.TopP,
            RepetitionPenalty = RepetitionPenalty ?? d.RepetitionPenalty,
            MaxNewTokens = MaxNewTokens ?? d.MaxNewTokens,
        };
    }

    // JSON null counts as absent, as in transformers' config classes.
    private readonly struct Reader(JsonElement root, string source)
    {
        private JsonElement? Get(string key) =>
            root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

        public int? Int(string key) => Get(key) is JsonElement v ? ToInt(v, key) : null;

        public double? Double(string key) =>
            Get(key) is JsonElement v ? (v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw Wrong(key, "a number", v)) : null;

        public bool? Bool(string key) =>
            Get(key) is JsonElement v ? (v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Wrong(key, "true or false", v)) : null;

        public int[] IntOrList(string key)
        {
            if (Get(key) is not JsonElement v) return [];
            if (v.ValueKind != JsonValueKind.Array) return [ToInt(v, key)];
            var list = new List<int>();
            foreach (var item in v.EnumerateArray()) list.Add(ToInt(item, key));
            return [.. list];
        }

        private int ToInt(JsonElement v, string key) =>
            v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && d == Math.Floor(d) && d >= int.MinValue && d <= int.MaxValue
                ? (int)d : throw Wrong(key, "an integer", v);

        private CheckpointException Wrong(string key, string expected, JsonElement v) =>
            new($"{source}: \"{key}\" must be {expected} but is {v.GetRawText()}. Fix the file or delete it to use the defaults.", source);
    }
}
