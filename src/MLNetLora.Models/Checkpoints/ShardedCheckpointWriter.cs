using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetLora.LibTorch;

namespace MLNetLora.Models.Checkpoints;

/// <summary>
/// Writes model weights as transformers' <c>save_pretrained</c> does: one <c>model.safetensors</c>, or,
/// above <c>maxShardBytes</c>, shards <c>model-00001-of-0000N.safetensors</c> with a
/// <c>model.safetensors.index.json</c> that maps every tensor to its shard. Each shard is converted to
/// the stored dtype and written (atomically) on its own, so saving needs about one shard of extra memory.
/// </summary>
public static class ShardedCheckpointWriter
{
    /// <summary>transformers' default <c>max_shard_size</c>, 5 GB.</summary>
    public const long DefaultMaxShardBytes = 5_000_000_000;

    /// <summary>Writes <paramref name="weights"/> into <paramref name="directory"/>, removing weight files of an earlier save that the new one does not use.</summary>
    /// <param name="directory">Destination folder (created if needed).</param>
    /// <param name="weights">Hugging Face names and tensors, in the order to store them.</param>
    /// <param name="storeType">The dtype stored on disk.</param>
    /// <param name="maxShardBytes">Largest shard (a single tensor larger than this gets a shard of its own).</param>
    /// <returns>The weight files written (shard names, or <c>model.safetensors</c>).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxShardBytes"/> is not positive.</exception>
    /// <exception cref="IOException">A file could not be written.</exception>
    public static IReadOnlyList<string> Write(string directory, IReadOnlyList<KeyValuePair<string, Tensor>> weights, DType storeType,
        long maxShardBytes = DefaultMaxShardBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        Directory.CreateDirectory(directory);
        int size = storeType.ElementSize();
        var shards = new List<List<KeyValuePair<string, Tensor>>> { new() };
        long current = 0;
        foreach (var kv in weights)
        {
            long bytes = kv.Value.NumEl * size;
            if (current > 0 && current + bytes > maxShardBytes)
            {
                shards.Add([]);
                current = 0;
            }
            shards[^1].Add(kv);
            current += bytes;
        }
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        var names = shards.Count == 1 ? [ModelCheckpoint.SingleFileName]
            : Enumerable.Range(1, shards.Count).Select(i => $"model-{i:D5}-of-{shards.Count:D5}.safetensors").ToList();
        for (int s = 0; s < shards.Count; s++)
        {
            var converted = shards[s].Select(kv => new KeyValuePair<string, Tensor>(kv.Key, kv.Value.To(storeType, Device.Cpu))).ToList();
            try
            {
                SafeTensorsWriter.Write(Path.Combine(directory, names[s]), converted, meta);
            }
            finally
            {
                foreach (var kv in converted) kv.Value.Dispose();
            }
        }
        string indexPath = Path.Combine(directory, ModelCheckpoint.IndexFileName);
        if (shards.Count > 1)
        {
            var map = new JsonObject();
            for (int s = 0; s < shards.Count; s++)
                foreach (var kv in shards[s]) map[kv.Key] = names[s];
            var index = new JsonObject
            {
                ["metadata"] = new JsonObject { ["total_size"] = weights.Sum(kv => kv.Value.NumEl * size) },
                ["weight_map"] = map,
            };
            byte[] json = System.Text.Encoding.UTF8.GetBytes(index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            AtomicFile.Write(indexPath, stream => stream.Write(json));
        }
        RemoveStale(directory, names, keepIndex: shards.Count > 1);
        return names;
    }

    // A folder saved before with another shard count would otherwise mix two checkpoints.
    private static void RemoveStale(string directory, IReadOnlyList<string> written, bool keepIndex)
    {
        foreach (string f in Directory.EnumerateFiles(directory, "model*.safetensors"))
        {
            string name = Path.GetFileName(f);
            bool ours = name == ModelCheckpoint.SingleFileName || name.StartsWith("model-", StringComparison.Ordinal);
            if (ours && !written.Contains(name)) File.Delete(f);
        }
        string index = Path.Combine(directory, ModelCheckpoint.IndexFileName);
        if (!keepIndex && File.Exists(index)) File.Delete(index);
    }
}
