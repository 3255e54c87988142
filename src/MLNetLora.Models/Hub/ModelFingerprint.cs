using System.Security.Cryptography;
using System.Text.Json;

namespace MLNetLora.Models.Hub;

/// <summary>
/// A content fingerprint of a Hugging Face model folder: a SHA-256 per file that changes the model's
/// computation (config, tokenizer, generation config, weights). Small files are hashed whole; a
/// safetensors file is hashed over its length, its header and 16 evenly spaced 64 KiB blocks of its
/// data, so a different checkpoint of the same architecture (base vs. instruct) is told apart while a
/// multi-GB folder is fingerprinted in milliseconds.
/// </summary>
public sealed record ModelFingerprint(IReadOnlyDictionary<string, string> Files)
{
    private const int Samples = 16;
    private const int SampleBytes = 64 * 1024;

    /// <summary>The files, besides the weights, that take part when present.</summary>
    public static IReadOnlyList<string> ModelFiles { get; } =
    [
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json",
        "special_tokens_map.json", "model.safetensors.index.json",
    ];

    /// <summary>The files of a model folder that loading reads: <see cref="ModelFiles"/> that exist, and the weights (model.safetensors, or the shards its index names).</summary>
    /// <param name="directory">The folder.</param>
    /// <returns>Names relative to the folder, sorted.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static IReadOnlyList<string> FilesOf(string directory)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"Model folder '{directory}' does not exist.");
        string index = Path.Combine(directory, Checkpoints.ModelCheckpoint.IndexFileName);
        IEnumerable<string> weights = File.Exists(index)
            ? Checkpoints.ShardIndex.Load(index).ShardFiles
            : File.Exists(Path.Combine(directory, Checkpoints.ModelCheckpoint.SingleFileName)) ? [Checkpoints.ModelCheckpoint.SingleFileName] : [];
        return ModelFiles.Where(f => File.Exists(Path.Combine(directory, f))).Concat(weights)
            .Distinct().Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Fingerprints a model folder.</summary>
    /// <param name="directory">The folder.</param>
    /// <returns>The fingerprint.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static ModelFingerprint Of(string directory) =>
        new(FilesOf(directory).ToDictionary(f => f, f => HashFile(Path.Combine(directory, f)), StringComparer.Ordinal));

    /// <summary>How <paramref name="found"/> differs from this one, one phrase per file ("model.safetensors differs", "tokenizer.json is missing"); empty when equal.</summary>
    /// <param name="found">The fingerprint of the folder at hand.</param>
    /// <returns>The differences.</returns>
    public IReadOnlyList<string> Differences(ModelFingerprint found)
    {
        ArgumentNullException.ThrowIfNull(found);
        var d = new List<string>();
        foreach (var (file, hash) in Files.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!found.Files.TryGetValue(file, out var other)) d.Add($"{file} is missing");
            else if (other != hash) d.Add($"{file} differs (expected {hash[..12]}…, found {other[..12]}…)");
        }
        d.AddRange(found.Files.Keys.Where(f => !Files.ContainsKey(f)).Order(StringComparer.Ordinal).Select(f => $"{f} was not there at training time"));
        return d;
    }

    /// <summary>The fingerprint as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(Files);

    /// <summary>Reads <see cref="ToJson"/>'s output.</summary>
    /// <exception cref="JsonException">The text is not a fingerprint.</exception>
    public static ModelFingerprint FromJson(string json) =>
        new(JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? throw new JsonException("empty fingerprint"));

    private static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        if (!path.EndsWith(".safetensors", StringComparison.Ordinal)) return Convert.ToHexStringLower(SHA256.HashData(stream));
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length = stream.Length;
        sha.AppendData(BitConverter.GetBytes(length));
        var header = new byte[8];
        stream.ReadExactly(header);
        long headerLength = Math.Min(BitConverter.ToInt64(header), length - 8);
        var buffer = new byte[(int)Math.Min(Math.Max(headerLength, SampleBytes), 100_000_000)];
        stream.ReadExactly(buffer, 0, (int)Math.Min(headerLength, buffer.Length));
        sha.AppendData(buffer, 0, (int)Math.Min(headerLength, buffer.Length));
        long dataStart = 8 + headerLength, dataLength = length - dataStart;
        for (int i = 0; i < Samples && dataLength > 0; i++)
        {
            long offset = dataStart + dataLength * i / Samples;
            stream.Position = offset;
            int n = stream.ReadAtLeast(buffer.AsSpan(0, (int)Math.Min(SampleBytes, length - offset)), 1, throwOnEndOfStream: false);
            sha.AppendData(buffer, 0, n);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
