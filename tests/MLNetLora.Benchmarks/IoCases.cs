using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Benchmarks;

/// <summary>One timed operation: what it returns is disposed after the clock stops (loaded tensors, buffers).</summary>
internal sealed record IoCase(string Name, string Direction, string Description, Func<IDisposable?> Run);

/// <summary>
/// The operations the io suite times. Baselines use plain FileStream calls so "checkpoint I/O is not slower than
/// reading the file" has a reference point measured on the same file, in the same process, in the same minute.
/// </summary>
internal sealed unsafe class IoCases(string checkpoint, string writeTarget, string baselineTarget, IReadOnlyList<KeyValuePair<string, Tensor>> tensors)
{
    private const int ChunkBytes = 64 << 20;
    // Allocated and touched once so the baseline measures the read, not page faults in its own buffer.
    private readonly byte[] buffer = Prefault(new byte[ChunkBytes]);

    public IReadOnlyList<IoCase> All { get; private set; } = [];

    /// <summary>Selects the cases to run: <paramref name="names"/> (all when null) plus both baselines.</summary>
    public IoCases Select(IReadOnlyList<string>? names)
    {
        All = Every.Where(c => names is null || c.Name.EndsWith(".baseline", StringComparison.Ordinal) || names.Contains(c.Name)).ToList();
        return this;
    }

    private IReadOnlyList<IoCase> Every =>
    [
        new("read.baseline", "read", "FileStream.Read of the whole file into one reused 64 MiB buffer", ReadBaseline),
        new("read.baseline-fresh", "read", "FileStream.Read into freshly allocated native 64 MiB blocks, kept until the end (as tensors are)", ReadFresh),
        new("load.safetensors", "read", "SafeTensorsFile.Open + Load of every tensor (pread straight into each tensor, one copy)", LoadSafeTensors),
        new("load.previous", "read", "The Load this work replaced, rebuilt here: map -> SafeBuffer.ReadSpan into a byte[] -> Tensor.FromBytes", LoadPrevious),
        new("load.two-copy", "read", "SafeTensorsFile.ReadBytes (pread into a byte[]) then Tensor.FromBytes: what a second copy costs", LoadTwoCopy),
        new("load.mmap", "read", "Alternative: memory map -> UnmanagedMemoryStream -> Tensor.FromStream (one copy, page faults on the map)", LoadMapped),
        new("write.baseline", "write", "FileStream.Write of the same byte count from a 64 MiB buffer, then fsync", WriteBaseline),
        new("write.safetensors", "write", "SafeTensorsWriter.Write of the same tensors (temp file, fsync, rename)", WriteSafeTensors),
    ];

    public long CheckpointBytes => new FileInfo(checkpoint).Length;

    private static byte[] Prefault(byte[] bytes)
    {
        Array.Fill(bytes, (byte)1);
        return bytes;
    }

    private static FileStream OpenUnbuffered(string path) =>
        // bufferSize 0: reads go straight to the caller's span, as they do for the tensor paths.
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);

    private IDisposable? ReadBaseline()
    {
        using var stream = OpenUnbuffered(checkpoint);
        while (stream.Read(buffer) > 0) { }
        return null;
    }

    private NativeBlocks ReadFresh()
    {
        var blocks = new NativeBlocks();
        using var stream = OpenUnbuffered(checkpoint);
        while (true)
        {
            byte* block = blocks.Add(ChunkBytes);
            int total = 0, n;
            while (total < ChunkBytes && (n = stream.Read(new Span<byte>(block + total, ChunkBytes - total))) > 0) total += n;
            if (total < ChunkBytes) break;
        }
        return blocks;
    }

    private TensorList LoadSafeTensors()
    {
        var loaded = new TensorList();
        using var file = SafeTensorsFile.Open(checkpoint);
        foreach (string name in file.Names) loaded.Add(file.Load(name));
        return loaded;
    }

    private TensorList LoadPrevious()
    {
        var loaded = new TensorList();
        using var file = SafeTensorsFile.Open(checkpoint);
        using var map = MemoryMappedFile.CreateFromFile(checkpoint, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        foreach (var info in file.Tensors)
        {
            var bytes = GC.AllocateUninitializedArray<byte>((int)info.ByteLength);
            view.SafeMemoryMappedViewHandle.ReadSpan((ulong)(view.PointerOffset + file.DataOffset + info.DataStart), bytes.AsSpan());
            loaded.Add(Tensor.FromBytes(bytes, info.Shape, info.DType));
        }
        return loaded;
    }

    private TensorList LoadTwoCopy()
    {
        var loaded = new TensorList();
        using var file = SafeTensorsFile.Open(checkpoint);
        foreach (var info in file.Tensors) loaded.Add(Tensor.FromBytes(file.ReadBytes(info.Name), info.Shape, info.DType));
        return loaded;
    }

    private TensorList LoadMapped()
    {
        var loaded = new TensorList();
        using var file = SafeTensorsFile.Open(checkpoint);
        using var map = MemoryMappedFile.CreateFromFile(checkpoint, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        foreach (var info in file.Tensors)
        {
            using var stream = new UnmanagedMemoryStream(view.SafeMemoryMappedViewHandle, view.PointerOffset + file.DataOffset + info.DataStart, info.ByteLength);
            loaded.Add(Tensor.FromStream(stream, info.Shape, info.DType));
        }
        return loaded;
    }

    private IDisposable? WriteBaseline()
    {
        long bytes = CheckpointBytes;
        using var stream = new FileStream(baselineTarget, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        for (long done = 0; done < bytes; done += ChunkBytes)
            stream.Write(buffer, 0, (int)Math.Min(ChunkBytes, bytes - done));
        stream.Flush(flushToDisk: true);
        return null;
    }

    private IDisposable? WriteSafeTensors()
    {
        SafeTensorsWriter.Write(writeTarget, tensors);
        return null;
    }

    /// <summary>Deletes the write targets so every write starts from a new file, as the first save of a run does.</summary>
    public void ResetWriteTargets()
    {
        File.Delete(writeTarget);
        File.Delete(baselineTarget);
    }

    private sealed class TensorList : List<Tensor>, IDisposable
    {
        public void Dispose()
        {
            foreach (var t in this) t.Dispose();
        }
    }

    private sealed class NativeBlocks : IDisposable
    {
        private readonly List<nint> blocks = [];

        public byte* Add(int bytes)
        {
            byte* p = (byte*)NativeMemory.Alloc((nuint)bytes);
            blocks.Add((nint)p);
            return p;
        }

        public void Dispose()
        {
            foreach (nint p in blocks) NativeMemory.Free((void*)p);
        }
    }
}
