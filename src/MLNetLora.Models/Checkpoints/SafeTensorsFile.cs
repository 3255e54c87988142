using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using MLNetLora.LibTorch;

namespace MLNetLora.Models.Checkpoints;

/// <summary>
/// A read-only <c>.safetensors</c> file: an 8-byte little-endian header length, a JSON header describing each
/// tensor, then the raw tensor bytes. The header is parsed on first use; loading a tensor reads only that tensor's
/// bytes, straight from the file into libtorch memory, so opening a multi-gigabyte checkpoint costs nothing up
/// front and loading it copies each byte once.
/// </summary>
/// <remarks>
/// Reads are positional (<see cref="RandomAccess"/>), so they are thread-safe. Why not a memory map: either way a
/// load is bound by first-touching the new tensor's pages, but a map also faults on the file's pages. Measured on a
/// cold 1 GiB file with libtorch's huge-page allocator on, pread mostly reached 0.8-1.0x the speed of a raw read
/// of the file and the map about 0.6x (docs/benchmarks.md); without huge pages neither won cold and the map was
/// ~15% ahead warm. A file truncated while open also fails with an exception rather than a SIGBUS.
/// Dispose the file to close it; tensors already loaded stay valid.
/// </remarks>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>The format caps the header at 100 MB; a larger length means the file is not safetensors.</summary>
    private const long MaxHeaderLength = 100_000_000;

    private readonly SafeFileHandle file;
    private readonly long headerLength;
    private readonly Lazy<SafeTensorsHeader> header;
    private bool disposed;

    private SafeTensorsFile(string path, SafeFileHandle file, long fileLength, long headerLength)
    {
        Path = path;
        this.file = file;
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

    /// <summary>Opens a safetensors file and checks its header length; the JSON header is parsed on first use.</summary>
    /// <param name="path">Path of the <c>.safetensors</c> file.</param>
    /// <exception cref="CheckpointException">The file does not exist, is shorter than 8 bytes, or declares a header longer than the file.</exception>
    /// <exception cref="IOException">The file exists but could not be opened.</exception>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new CheckpointException(
                $"Safetensors file '{full}' does not exist. Check the path, or download the checkpoint (model.safetensors or its shards) into that folder.", full);
        var handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            long length = RandomAccess.GetLength(handle);
            if (length < 8)
                throw new CheckpointException(
                    $"'{full}' is {length} bytes long, too short to be a safetensors file (at least 8 bytes of header length are needed). " +
                    "The download or export was probably interrupted; fetch the file again.", full);
            Span<byte> prefix = stackalloc byte[8];
            ReadExactly(handle, prefix, 0, full);
            ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (declared > MaxHeaderLength && declared <= (ulong)(length - 8))
                throw new CheckpointException(
                    $"'{full}' declares a {declared}-byte header, more than the format's limit of {MaxHeaderLength} bytes. " +
                    "It is not a safetensors file or is corrupt; download or export it again.", full);
            if (declared > (ulong)(length - 8))
                throw new CheckpointException(
                    $"'{full}' declares a {declared}-byte header but the file has only {length - 8} bytes after the length prefix. " +
                    "The file is truncated or is not a safetensors file (a PyTorch .bin or a Git LFS pointer?); download it again.", full);
            return new SafeTensorsFile(full, handle, length, (long)declared);
        }
        catch
        {
            handle.Dispose();
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
    /// Loads a tensor as a new CPU tensor in its stored dtype, reading its bytes from the file straight into the
    /// tensor's memory. Tensors over 2 GiB (a float32 embedding of a big vocabulary) load in one piece too.
    /// </summary>
    /// <exception cref="CheckpointException">No tensor has this name, or the header is malformed.</exception>
    /// <exception cref="TorchException">libtorch could not allocate the tensor.</exception>
    /// <exception cref="EndOfStreamException">The file was truncated after it was opened.</exception>
    public Tensor Load(string name) => Load(name, long.MaxValue);

    /// <summary>
    /// Loads a tensor in slices along its first dimension of at most <paramref name="maxReadBytes"/> each, then
    /// concatenates them (a second copy). <see cref="Load(string)"/> never needs this since reads go straight into
    /// tensor memory, whatever the size; it stays so tests can check partial ranges of the file against a whole read.
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

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        file.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"SafeTensorsFile({Path})";

    private Tensor LoadRange(long dataStart, long byteLength, long[] shape, DType dtype)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        using var stream = new RangeStream(file, DataOffset + dataStart, byteLength);
        return Tensor.FromStream(stream, shape, dtype);
    }

    private void ReadRange(long dataStart, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ReadExactly(file, destination, DataOffset + dataStart, Path);
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long fileOffset, string path)
    {
        while (!destination.IsEmpty)
        {
            int n = RandomAccess.Read(handle, destination, fileOffset);
            if (n == 0)
                throw new EndOfStreamException($"'{path}' ended at byte {fileOffset}; it was truncated after it was opened. Open it again.");
            destination = destination[n..];
            fileOffset += n;
        }
    }

    private SafeTensorsHeader ParseHeader()
    {
        var json = new byte[headerLength];
        ReadExactly(file, json, 8, Path);
        return SafeTensorsHeader.Parse(json, FileLength - DataOffset, Path);
    }

    /// <summary>
    /// A read-only window on the file for <see cref="Tensor.FromStream"/>. Each stream keeps its own position and
    /// reads with pread, so concurrent loads share the handle without sharing a file offset.
    /// </summary>
    private sealed class RangeStream(SafeFileHandle handle, long start, long length) : Stream
    {
        private long position;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => length;

        public override long Position
        {
            get => position;
            set => position = Math.Clamp(value, 0, length);
        }

        public override int Read(Span<byte> buffer)
        {
            int count = (int)Math.Min(buffer.Length, length - position);
            if (count <= 0) return 0;
            int n = RandomAccess.Read(handle, buffer[..count], start + position);
            position += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => position + offset,
            _ => length + offset,
        };

        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
