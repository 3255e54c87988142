using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using MLNetLora.LibTorch;

namespace MLNetLora.Models.Checkpoints;

/// <summary>
/// A read-only, memory-mapped <c>.safetensors</c> file: an 8-byte little-endian header length, a JSON header
/// describing each tensor, then the raw tensor bytes. The header is parsed on first use; loading a tensor
/// copies only that tensor's bytes out of the map, straight into libtorch memory, so opening a multi-gigabyte
/// checkpoint costs nothing up front and loading it touches each byte once.
/// </summary>
/// <remarks>Reads are thread-safe. Dispose the file to unmap it; tensors already loaded stay valid.</remarks>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>The format caps the header at 100 MB; a larger length means the file is not safetensors.</summary>
    private const long MaxHeaderLength = 100_000_000;

    private readonly MemoryMappedFile map;
    private readonly MemoryMappedViewAccessor view;
    private readonly long headerLength;
    private readonly Lazy<SafeTensorsHeader> header;
    private bool disposed;

    private SafeTensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, long fileLength, long headerLength)
    {
        Path = path;
        this.map = map;
        this.view = view;
        FileLength = fileLength;
        this.headerLength = headerLength;
        header = new Lazy<SafeTensorsHeader>(ParseHeader, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The full path of the file.</summary>
    public string Path { get; }

    /// <summary>The file's size in bytes.</summary>
    public long FileLength { get; }

    /// <summary>Where the data section starts: 8 bytes of length plus the header.</summary>
    public long DataOffset => 8 + headerLength;

    /// <summary>Tensor names in the order the header lists them.</summary>
    /// <exception cref="CheckpointException">The header is malformed (see <see cref="Open"/>).</exception>
    public IReadOnlyList<string> Names => Header.Names;

    /// <summary>The header's <c>__metadata__</c> entries, e.g. <c>format: pt</c> (empty when absent).</summary>
    /// <exception cref="CheckpointException">The header is malformed.</exception>
    public IReadOnlyDictionary<string, string> Metadata => Header.Metadata;

    /// <summary>Every tensor's header entry, in header order.</summary>
    /// <exception cref="CheckpointException">The header is malformed.</exception>
    public IEnumerable<TensorInfo> Tensors => Header.Names.Select(n => Header.Tensors[n]);

    private SafeTensorsHeader Header
    {
        get
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return header.Value;
        }
    }

    /// <summary>Opens and maps a safetensors file and checks its header length; the JSON header is parsed on first use.</summary>
    /// <param name="path">Path of the <c>.safetensors</c> file.</param>
    /// <exception cref="CheckpointException">The file does not exist, is shorter than 8 bytes, or declares a header longer than the file.</exception>
    /// <exception cref="IOException">The file exists but could not be opened or mapped.</exception>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new CheckpointException(
                $"Safetensors file '{full}' does not exist. Check the path, or download the checkpoint (model.safetensors or its shards) into that folder.", full);
        var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            long length = stream.Length;
            if (length < 8)
                throw new CheckpointException(
                    $"'{full}' is {length} bytes long, too short to be a safetensors file (at least 8 bytes of header length are needed). " +
                    "The download or export was probably interrupted; fetch the file again.", full);
            Span<byte> prefix = stackalloc byte[8];
            stream.ReadExactly(prefix);
            ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (declared > MaxHeaderLength && declared <= (ulong)(length - 8))
                throw new CheckpointException(
                    $"'{full}' declares a {declared}-byte header, more than the format's limit of {MaxHeaderLength} bytes. " +
                    "It is not a safetensors file or is corrupt; download or export it again.", full);
            if (declared > (ulong)(length - 8))
                throw new CheckpointException(
                    $"'{full}' declares a {declared}-byte header but the file has only {length - 8} bytes after the length prefix. " +
                    "The file is truncated or is not a safetensors file (a PyTorch .bin or a Git LFS pointer?); download it again.", full);
            var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            try
            {
                var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                return new SafeTensorsFile(full, map, view, length, (long)declared);
            }
            catch
            {
                map.Dispose();
                throw;
            }
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Whether the file holds a tensor with this name.</summary>
    /// <exception cref="CheckpointException">The header is malformed.</exception>
    public bool Contains(string name) => Header.Tensors.ContainsKey(name);

    /// <summary>The header entry (dtype, shape, data offsets) of a tensor.</summary>
    /// <exception cref="CheckpointException">No tensor has this name (the message lists the closest names), or the header is malformed.</exception>
    public TensorInfo GetInfo(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (Header.Tensors.TryGetValue(name, out var info)) return info;
        throw new CheckpointException(
            $"'{Path}' has no tensor named '{name}'.{NameSuggestions.Hint(name, Header.Names)} " +
            "Check the name against Names; checkpoints of other architectures or wrappers use other prefixes.", Path);
    }

    /// <summary>
    /// Loads a tensor as a new CPU tensor in its stored dtype, copying its bytes once, from the map straight into
    /// the tensor's memory. Tensors over 2 GiB (a float32 embedding of a big vocabulary) load in one piece too.
    /// </summary>
    /// <exception cref="CheckpointException">No tensor has this name, or the header is malformed.</exception>
    /// <exception cref="TorchException">libtorch could not allocate the tensor.</exception>
    public Tensor Load(string name) => Load(name, long.MaxValue);

    /// <summary>
    /// Loads a tensor in slices along its first dimension of at most <paramref name="maxReadBytes"/> each, then
    /// concatenates them (a second copy). <see cref="Load(string)"/> never needs this since reads go straight into
    /// tensor memory, whatever the size; it stays so tests can check partial ranges of the map against a whole read.
    /// </summary>
    internal Tensor Load(string name, long maxReadBytes)
    {
        var info = GetInfo(name);
        if (info.ByteLength <= maxReadBytes) return LoadRange(info.DataStart, info.ByteLength, info.Shape, info.DType);
        long rows = info.Shape.Length == 0 ? 0 : info.Shape[0];
        long rowBytes = rows == 0 ? info.ByteLength : info.ByteLength / rows;
        if (rowBytes > maxReadBytes)
            throw new NotSupportedException(
                $"Tensor '{name}' in '{Path}' has {rowBytes} bytes per row of its first dimension, more than one read can hold ({maxReadBytes} bytes).");
        long rowsPerRead = maxReadBytes / rowBytes;
        var parts = new List<Tensor>();
        try
        {
            for (long row = 0; row < rows; row += rowsPerRead)
            {
                long count = Math.Min(rowsPerRead, rows - row);
                var shape = (long[])info.Shape.Clone();
                shape[0] = count;
                parts.Add(LoadRange(info.DataStart + row * rowBytes, count * rowBytes, shape, info.DType));
            }
            return Tensor.Cat(parts.ToArray(), 0);
        }
        finally
        {
            foreach (var part in parts) part.Dispose();
        }
    }

    /// <summary>Copies a tensor's raw little-endian bytes into <paramref name="destination"/>.</summary>
    /// <exception cref="CheckpointException">No tensor has this name, or the header is malformed.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is not exactly the tensor's byte length.</exception>
    public void ReadBytes(string name, Span<byte> destination)
    {
        var info = GetInfo(name);
        if (destination.Length != info.ByteLength)
            throw new ArgumentException($"Tensor '{name}' has {info.ByteLength} bytes; the destination holds {destination.Length}.", nameof(destination));
        ReadRange(info.DataStart, destination);
    }

    /// <summary>A tensor's raw little-endian bytes, for inspection or for copying a tensor between files without libtorch.</summary>
    /// <exception cref="CheckpointException">No tensor has this name, or the header is malformed.</exception>
    /// <exception cref="NotSupportedException">The tensor is larger than a .NET array can hold.</exception>
    public byte[] ReadBytes(string name)
    {
        var info = GetInfo(name);
        if (info.ByteLength > Array.MaxLength)
            throw new NotSupportedException($"Tensor '{name}' has {info.ByteLength} bytes, more than a .NET array holds; use Load instead.");
        var bytes = GC.AllocateUninitializedArray<byte>((int)info.ByteLength);
        ReadRange(info.DataStart, bytes);
        return bytes;
    }

    /// <summary>Unmaps the file.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        view.Dispose();
        map.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"SafeTensorsFile({Path})";

    private Tensor LoadRange(long dataStart, long byteLength, long[] shape, DType dtype)
    {
        // Straight from the mapped pages into libtorch's buffer: staging the bytes in a managed array first cost
        // a second full pass over every byte, and a 2 GiB cap per read.
        using var stream = OpenRange(DataOffset + dataStart, byteLength);
        return Tensor.FromStream(stream, shape, dtype);
    }

    private void ReadRange(long dataStart, Span<byte> destination)
    {
        using var stream = OpenRange(DataOffset + dataStart, destination.Length);
        stream.ReadExactly(destination);
    }

    /// <summary>
    /// A stream over part of the existing view, so a read is one memmove: SafeBuffer.ReadSpan, used before, copies
    /// in a per-element loop, several times slower. Safe to call concurrently, as each caller gets its own stream.
    /// </summary>
    private UnmanagedMemoryStream OpenRange(long fileOffset, long byteLength)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return new UnmanagedMemoryStream(view.SafeMemoryMappedViewHandle, view.PointerOffset + fileOffset, byteLength);
    }

    private SafeTensorsHeader ParseHeader()
    {
        var json = new byte[headerLength];
        using (var stream = OpenRange(8, headerLength)) stream.ReadExactly(json);
        return SafeTensorsHeader.Parse(json, FileLength - DataOffset, Path);
    }
}
