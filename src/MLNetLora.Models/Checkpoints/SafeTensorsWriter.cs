using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using MLNetLora.LibTorch;

namespace MLNetLora.Models.Checkpoints;

/// <summary>Writes tensors in the safetensors format that Hugging Face libraries read.</summary>
public static class SafeTensorsWriter
{
    /// <summary>
    /// Large tensors are written in slices of about this size: a contiguous CPU slice goes out straight from tensor
    /// memory, and a GPU or strided one is copied to the CPU one slice at a time, so saving needs little extra memory.
    /// </summary>
    private const long SliceBytes = 64L << 20;

    /// <summary>
    /// Writes <paramref name="tensors"/> (in the given order, contiguous, each in its own dtype) to <paramref name="path"/>.
    /// The header JSON is padded with spaces to a multiple of 8 bytes. The file is written to
    /// <c>path + ".tmp-&lt;guid&gt;"</c> in the same folder, flushed, then renamed over <paramref name="path"/>,
    /// so an interrupted save never leaves a truncated file behind. The parent folder is created if needed.
    /// Tensors may live on any device and need not be contiguous.
    /// </summary>
    /// <param name="path">Destination file, usually ending in <c>.safetensors</c>.</param>
    /// <param name="tensors">Names and tensors; names must be unique and must not be <c>__metadata__</c>.</param>
    /// <param name="metadata">Optional string pairs stored under <c>__metadata__</c> (transformers writes <c>format: pt</c>).</param>
    /// <exception cref="ArgumentException">A name is empty, repeated, or reserved, or a tensor is disposed.</exception>
    /// <exception cref="IOException">The file could not be written or renamed.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder is not writable.</exception>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        Write(path, tensors, metadata, SliceBytes);

    /// <summary><see cref="Write(string, IEnumerable{KeyValuePair{string, Tensor}}, IReadOnlyDictionary{string, string}?)"/> with a chosen slice size, so tests can exercise slicing on small tensors.</summary>
    internal static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata, long sliceBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var entries = Describe(tensors);
        byte[] header = BuildHeader(entries, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            stream.Write(prefix);
            stream.Write(header);
            foreach (var entry in entries) WriteData(stream, entry, sliceBytes);
        });
    }

    private sealed record Entry(string Name, Tensor Tensor, DType DType, long[] Shape, long Begin, long End);

    private static List<Entry> Describe(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var entries = new List<Entry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("Tensor names must not be empty.", nameof(tensors));
            if (name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved for the metadata entry; rename the tensor.", nameof(tensors));
            if (!seen.Add(name)) throw new ArgumentException($"Tensor name '{name}' appears twice; safetensors names must be unique.", nameof(tensors));
            if (tensor is null || tensor.IsDisposed) throw new ArgumentException($"Tensor '{name}' is null or disposed.", nameof(tensors));
            var shape = tensor.Shape;
            long bytes = tensor.NumEl * tensor.DType.ElementSize();
            entries.Add(new Entry(name, tensor, tensor.DType, shape, offset, offset + bytes));
            offset += bytes;
        }
        return entries;
    }

    private static byte[] BuildHeader(List<Entry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping keeps non-ASCII names readable, as the reference Rust writer does; the header is never HTML.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            foreach (var e in entries)
            {
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", SafeTensorsDTypes.ToCode(e.DType));
                json.WriteStartArray("shape");
                foreach (long d in e.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(e.Begin);
                json.WriteNumberValue(e.End);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        // Padding to 8 bytes puts the data section on an 8-byte boundary, as the format requires.
        int padding = (int)((8 - buffer.Length % 8) % 8);
        for (int i = 0; i < padding; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private static void WriteData(FileStream stream, Entry entry, long sliceBytes)
    {
        long expected = entry.End - entry.Begin;
        long written = 0;
        long rows = entry.Shape.Length == 0 ? 0 : entry.Shape[0];
        if (expected <= sliceBytes || rows <= 1)
        {
            written = WriteBytes(stream, entry.Tensor);
        }
        else
        {
            long rowsPerSlice = Math.Max(1, sliceBytes / (expected / rows));
            for (long row = 0; row < rows; row += rowsPerSlice)
            {
                using var slice = entry.Tensor.Narrow(0, row, Math.Min(rowsPerSlice, rows - row));
                written += WriteBytes(stream, slice);
            }
        }
        if (written != expected)
            throw new InvalidOperationException($"Tensor '{entry.Name}' produced {written} bytes instead of {expected}; it changed while being saved.");
    }

    private static long WriteBytes(FileStream stream, Tensor tensor) => tensor.WriteTo(stream);
}
