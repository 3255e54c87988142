using System.Text.Json;
using MLNetLora.LibTorch;

namespace MLNetLora.Models.Checkpoints;

/// <summary>The parsed and validated JSON header of a safetensors file.</summary>
internal sealed class SafeTensorsHeader
{
    private const string MetadataKey = "__metadata__";

    private SafeTensorsHeader(List<string> names, Dictionary<string, TensorInfo> tensors, Dictionary<string, string> metadata)
    {
        Names = names;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Tensor names in header order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Tensor entries by name.</summary>
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    /// <summary>The <c>__metadata__</c> entries (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Parses and validates a header against the size of the data section that follows it.</summary>
    /// <exception cref="CheckpointException">The header is not valid JSON, or an entry is malformed, has an unsupported dtype,
    /// or has data offsets outside the data section or inconsistent with its shape and dtype.</exception>
    public static SafeTensorsHeader Parse(ReadOnlyMemory<byte> json, long dataLength, string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new CheckpointException(
                $"The header of '{path}' is not valid JSON ({e.Message}). The file is not a safetensors file or is corrupt; download or export it again.",
                path, e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw Corrupt(path, $"its header is a JSON {document.RootElement.ValueKind}, not an object");
            var names = new List<string>();
            var tensors = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.NameEquals(MetadataKey))
                {
                    ReadMetadata(property.Value, metadata, path);
                    continue;
                }
                var info = ReadEntry(property.Name, property.Value, dataLength, path);
                if (!tensors.TryAdd(info.Name, info))
                    throw Corrupt(path, $"tensor '{info.Name}' appears twice in its header");
                names.Add(info.Name);
            }
            return new SafeTensorsHeader(names, tensors, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string path)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw Corrupt(path, $"its {MetadataKey} entry is a JSON {value.ValueKind}, not an object of strings");
        foreach (var item in value.EnumerateObject())
            // The format says string values; keep other JSON values as their text rather than refusing the file.
            metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String ? item.Value.GetString()! : item.Value.GetRawText();
    }

    private static TensorInfo ReadEntry(string name, JsonElement entry, long dataLength, string path)
    {
        if (entry.ValueKind != JsonValueKind.Object)
            throw Corrupt(path, $"the header entry for tensor '{name}' is a JSON {entry.ValueKind}, not an object");
        if (!entry.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Corrupt(path, $"tensor '{name}' has no string 'dtype'");
        string code = dtypeElement.GetString()!;
        if (!SafeTensorsDTypes.TryParse(code, out DType dtype))
            throw new CheckpointException(
                $"Tensor '{name}' in '{path}' has dtype '{code}', which this library cannot load (supported: {string.Join(", ", SafeTensorsDTypes.SupportedCodes)}). " +
                "Convert the checkpoint to one of these, e.g. save it again from PyTorch in bfloat16 or float32.", path);
        long[] shape = ReadIntegers(entry, "shape", name, path);
        long[] offsets = ReadIntegers(entry, "data_offsets", name, path);
        if (offsets.Length != 2)
            throw Corrupt(path, $"tensor '{name}' has {offsets.Length} data offsets instead of 2 ([begin, end])");
        long begin = offsets[0], end = offsets[1];
        if (end < begin || end > dataLength)
            throw new CheckpointException(
                $"Tensor '{name}' in '{path}' has data offsets [{begin},{end}] outside the data section of {dataLength} bytes. " +
                "The file is truncated or corrupt; download or export it again.", path);
        long count = TensorInfo.ElementCountOf(shape);
        long expected = count < 0 || count > long.MaxValue / dtype.ElementSize() ? -1 : count * dtype.ElementSize();
        if (expected != end - begin)
            throw new CheckpointException(
                $"Tensor '{name}' in '{path}' is {TensorInfo.FormatShape(shape)} {code}, which needs {(expected < 0 ? "more than 2^63" : expected.ToString(System.Globalization.CultureInfo.InvariantCulture))} bytes, " +
                $"but its data offsets [{begin},{end}] span {end - begin} bytes. The file is corrupt; download or export it again.", path);
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long[] ReadIntegers(JsonElement entry, string key, string name, string path)
    {
        if (!entry.TryGetProperty(key, out var array) || array.ValueKind != JsonValueKind.Array)
            throw Corrupt(path, $"tensor '{name}' has no '{key}' array");
        var values = new long[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long v) || v < 0)
                throw Corrupt(path, $"tensor '{name}' has '{key}' {array.GetRawText()}, which is not a list of non-negative integers");
            values[i++] = v;
        }
        return values;
    }

    private static CheckpointException Corrupt(string path, string problem) =>
        new($"'{path}' is not a valid safetensors file: {problem}. Download or export it again.", path);
}
