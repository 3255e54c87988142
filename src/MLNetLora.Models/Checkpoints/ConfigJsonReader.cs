using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetLora.Models.Checkpoints;

/// <summary>
/// Typed reads from a <c>config.json</c> object with errors that name the file and the key. JSON <c>null</c> counts
/// as absent, as it does for transformers' config classes.
/// </summary>
internal sealed class ConfigJsonReader(JsonObject root, string source)
{
    public JsonObject Root { get; } = root;

    public string Source { get; } = source;

    public bool Has(string key) => Root[key] is not null;

    public string? String(string key, JsonObject? from = null)
    {
        var node = (from ?? Root)[key];
        if (node is null) return null;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) return v.GetValue<string>();
        throw Wrong(key, "a string", node);
    }

    public double? Double(string key, JsonObject? from = null)
    {
        var node = (from ?? Root)[key];
        if (node is null) return null;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out double d)) return d;
        throw Wrong(key, "a number", node);
    }

    public int? Int(string key, JsonObject? from = null)
    {
        var node = (from ?? Root)[key];
        if (node is null) return null;
        return ToInt(node, key);
    }

    public int RequiredInt(string key) =>
        Int(key) ?? throw new CheckpointException(
            $"{Source} has no \"{key}\". Use the config.json that came with the checkpoint; every supported architecture defines it.", Source);

    public bool? Bool(string key)
    {
        var node = Root[key];
        if (node is null) return null;
        if (node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False) return v.GetValue<bool>();
        throw Wrong(key, "true or false", node);
    }

    public bool? Bool(string key, JsonObject from)
    {
        var node = from[key];
        if (node is null) return null;
        if (node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False) return v.GetValue<bool>();
        throw Wrong(key, "true or false", node);
    }

    public IReadOnlyList<double>? DoubleList(string key, JsonObject from)
    {
        var node = from[key];
        if (node is null) return null;
        if (node is not JsonArray array) throw Wrong(key, "a list of numbers", node);
        return array.Select(item => item is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>()
            : throw Wrong(key, "a list of numbers", node)).ToArray();
    }

    public JsonObject? Object(string key)
    {
        var node = Root[key];
        if (node is null) return null;
        return node as JsonObject ?? throw Wrong(key, "an object", node);
    }

    public IReadOnlyList<string> StringList(string key)
    {
        var node = Root[key];
        if (node is null) return [];
        if (node is not JsonArray array) throw Wrong(key, "a list of strings", node);
        return array.Select(item => item is JsonValue v && v.GetValueKind() == JsonValueKind.String
            ? v.GetValue<string>() : throw Wrong(key, "a list of strings", node)).ToArray();
    }

    /// <summary>An integer or a list of integers (as <c>eos_token_id</c> may be); empty when absent.</summary>
    public IReadOnlyList<int> IntOrIntList(string key)
    {
        var node = Root[key];
        if (node is null) return [];
        if (node is JsonArray array) return array.Select(item => item is null ? throw Wrong(key, "an integer or a list of integers", node) : ToInt(item, key)).ToArray();
        return [ToInt(node, key)];
    }

    /// <summary><c>id2label</c>: JSON keys are the ids as strings.</summary>
    public IReadOnlyDictionary<int, string>? IdToLabel(string key)
    {
        var obj = Object(key);
        if (obj is null) return null;
        var result = new Dictionary<int, string>();
        foreach (var (name, value) in obj)
        {
            if (!int.TryParse(name, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id))
                throw Wrong(key, "an object whose keys are integer ids", obj);
            result[id] = value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw Wrong(key, "an object of label strings", obj);
        }
        return result;
    }

    public IReadOnlyDictionary<string, int>? LabelToId(string key)
    {
        var obj = Object(key);
        if (obj is null) return null;
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (name, value) in obj)
            result[name] = value is null ? throw Wrong(key, "an object of integer ids", obj) : ToInt(value, key);
        return result;
    }

    public CheckpointException Invalid(string problem) =>
        new($"{Source}: {problem}. Fix config.json or use the one that came with the checkpoint.", Source);

    private int ToInt(JsonNode node, string key)
    {
        // Python writes whole floats such as 64.0 for some ints; accept those but nothing fractional.
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out double d)
            && d == Math.Floor(d) && d >= int.MinValue && d <= int.MaxValue)
            return (int)d;
        throw Wrong(key, "an integer", node);
    }

    private CheckpointException Wrong(string key, string expected, JsonNode node) =>
        Invalid($"\"{key}\" must be {expected} but is {node.ToJsonString()}");
}
