using System.Text.Json;

namespace MLNetLora.Models.Checkpoints;

/// <summary>The <c>model.safetensors.index.json</c> of a sharded checkpoint: which shard file holds each tensor.</summary>
internal sealed class ShardIndex
{
    private ShardIndex(List<string> names, Dictionary<string, string> weightMap)
    {
        Names = names;
        WeightMap = weightMap;
    }

    /// <summary>Tensor names in the order the index lists them.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Tensor name → shard file name (relative to the model folder).</summary>
    public IReadOnlyDictionary<string, string> WeightMap { get; }

    /// <summary>Shard file names in first-use order.</summary>
    public IEnumerable<string> ShardFiles => Names.Select(n => WeightMap[n]).Distinct(StringComparer.Ordinal);

    /// <summary>Reads and validates an index file.</summary>
    /// <exception cref="CheckpointException">The file is not JSON, has no <c>weight_map</c> object, or names a shard outside the folder.</exception>
    public static ShardIndex Load(string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"'{path}' is not valid JSON ({e.Message}). Download the checkpoint's index file again.", path, e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out var map)
                || map.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(
                    $"'{path}' has no \"weight_map\" object mapping tensor names to shard files. Download the checkpoint's index file again.", path);
            var names = new List<string>();
            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new CheckpointException($"'{path}' maps tensor '{entry.Name}' to {entry.Value.GetRawText()} instead of a shard file name.", path);
                string file = entry.Value.GetString()!;
                // Shards are plain names beside the index; anything else could read files outside the model folder.
                if (file.Length == 0 || file != Path.GetFileName(file) || file == "..")
                    throw new CheckpointException($"'{path}' maps tensor '{entry.Name}' to '{file}', which is not a file name in the model folder.", path);
                if (weightMap.TryAdd(entry.Name, file)) names.Add(entry.Name);
            }
            return new ShardIndex(names, weightMap);
        }
    }
}
