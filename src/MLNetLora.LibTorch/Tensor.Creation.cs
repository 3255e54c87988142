using MLNetLora.LibTorch.Interop;

namespace MLNetLora.LibTorch;

public sealed unsafe partial class Tensor
{
    /// <summary>Row-major strides for a shape.</summary>
    public static long[] ContiguousStrides(ReadOnlySpan<long> shape)
    {
        var strides = new long[shape.Length];
        long s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= shape[i];
        }
        return strides;
    }

    /// <summary>An uninitialised tensor.</summary>
    /// <exception cref="TorchException">Allocation failed (for CUDA: out of GPU memory, or no CUDA build loaded).</exception>
    public static Tensor Empty(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null)
    {
        // Load first: the call below reads its function pointer before evaluating its arguments.
        Torch.EnsureLoaded();
        var dev = device ?? Device.Cpu;
        if (dev.IsCuda && !Torch.CudaAvailable)
            throw new TorchException($"A {dev} tensor was requested but the libtorch loaded from '{Torch.Info.Directory}' has no CUDA support. " +
                $"Set {LibTorchLoader.EnvironmentVariable} to the torch/lib folder of a CUDA build of PyTorch >= 2.10.");
        long[] strides = ContiguousStrides(shape);
        nint h;
        int rc;
        fixed (long* sz = shape)
        fixed (long* st = strides)
            rc = AotiShim.empty_strided(shape.Length, sz, st, Torch.DTypeCode(dtype),
                Torch.DeviceTypeCode(dev.Type), Math.Max(dev.Index, 0), &h);
        if (rc != 0)
        {
            long bytes = dtype.ElementSize();
            foreach (long d in shape) bytes *= d;
            throw new TorchException($"Allocating a [{string.Join(",", shape.ToArray())}] {dtype} tensor ({bytes / (1024.0 * 1024.0):F1} MiB) on {dev} failed. " +
                (dev.IsCuda ? "The GPU is probably out of memory: lower the batch size or sequence length, or enable gradient checkpointing." : "The process is probably out of memory."))
            { Operation = "aoti_torch_empty_strided" };
        }
        return new Tensor(h);
    }

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null) =>
        Full(shape, 0.0, dtype, device);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(ReadOnlySpan<long> shape, DType dtype = DType.Float32, Device? device = null) =>
        Full(shape, 1.0, dtype, device);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(ReadOnlySpan<long> shape, double value, DType dtype = DType.Float32, Device? device = null)
    {
        var t = Empty(shape, dtype, device);
        t.Fill_(value);
        return t;
    }

    /// <summary>A 0-dimensional tensor holding one value.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float64, Device? device = null) =>
        Full([], value, dtype, device);

    /// <summary><c>[start, start+step, …]</c> up to but excluding <paramref name="end"/>.</summary>
    public static Tensor Arange(long start, long end, long step = 1, DType dtype = DType.Int64, Device? device = null)
    {
        if (step == 0) throw new ArgumentOutOfRangeException(nameof(step), "step must not be zero.");
        long n = Math.Max(0, (end - start + step - Math.Sign(step)) / step);
        var values = new double[n];
        for (long i = 0; i < n; i++) values[i] = start + i * step;
        using var t64 = FromArray(values, n);
        return t64.To(dtype, device ?? Device.Cpu);
    }

    /// <summary><c>[0, 1, …, end-1]</c>.</summary>
    public static Tensor Arange(long end, DType dtype = DType.Int64, Device? device = null) => Arange(0, end, 1, dtype, device);

    /// <summary>Copies a .NET array into a new CPU tensor of the given shape (the array's length when omitted).</summary>
    /// <exception cref="ArgumentException">The shape's element count differs from the array's length.</exception>
    public static Tensor FromArray<T>(T[] data, params long[] shape) where T : unmanaged =>
        FromSpan<T>(data, shape.Length == 0 ? [data.LongLength] : shape);

    /// <summary>Copies a span into a new CPU tensor of the given shape.</summary>
    /// <exception cref="ArgumentException">The shape's element count differs from the span's length.</exception>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> data, ReadOnlySpan<long> shape) where T : unmanaged
    {
        long n = 1;
        foreach (long d in shape) n *= d;
        if (n != data.Length)
            throw new ArgumentException($"Shape [{string.Join(",", shape.ToArray())}] holds {n} elements but {data.Length} values were given.", nameof(shape));
        var t = Empty(shape, DTypeExtensions.Of<T>(), Device.Cpu);
        data.CopyTo(new Span<T>(t.DataPointer(), data.Length));
        return t;
    }

    /// <summary>Copies raw little-endian bytes (as stored in safetensors) into a new CPU tensor.</summary>
    /// <exception cref="ArgumentException">The byte count does not match shape and dtype.</exception>
    public static Tensor FromBytes(ReadOnlySpan<byte> bytes, ReadOnlySpan<long> shape, DType dtype)
    {
        long n = dtype.ElementSize();
        foreach (long d in shape) n *= d;
        if (n != bytes.Length)
            throw new ArgumentException($"A [{string.Join(",", shape.ToArray())}] {dtype} tensor needs {n} bytes but {bytes.Length} were given.", nameof(bytes));
        var t = Empty(shape, dtype, Device.Cpu);
        bytes.CopyTo(new Span<byte>(t.DataPointer(), bytes.Length));
        return t;
    }

    /// <summary>
    /// Reads raw little-endian bytes from <paramref name="stream"/> straight into a new CPU tensor's
    /// memory (one copy: e.g. from a safetensors file), in chunks so tensors over 2 GiB work.
    /// </summary>
    /// <exception cref="EndOfStreamException">The stream ended before the tensor was filled.</exception>
    public static Tensor FromStream(Stream stream, ReadOnlySpan<long> shape, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long total = dtype.ElementSize() * ElementCount(shape);
        var t = Empty(shape, dtype, Device.Cpu);
        byte* p = (byte*)t.DataPointer();
        // Loaded weights live for the whole run: huge pages make the first touch of the read 2x faster
        // and the matmuls' TLB misses rarer. Only these get them; training's short-lived activations
        // would pay for zeroing fresh huge pages at every step (docs/benchmarks.md).
        Interop.LibC.AdviseHugePages((nint)p, total);
        long done = 0;
        while (done < total)
        {
            int chunk = (int)Math.Min(total - done, 1 << 30);
            int n = stream.Read(new Span<byte>(p + done, chunk));
            if (n == 0)
            {
                t.Dispose();
                throw new EndOfStreamException($"The stream ended after {done} of the {total} bytes of a [{string.Join(",", shape.ToArray())}] {dtype} tensor.");
            }
            done += n;
        }
        return t;
    }

    /// <summary>Standard normal samples from a seeded <see cref="Generator"/> (drawn on the CPU, then moved).</summary>
    public static Tensor Randn(ReadOnlySpan<long> shape, Generator generator, DType dtype = DType.Float32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var values = new double[ElementCount(shape)];
        generator.FillNormal(values);
        using var t = FromSpan<double>(values, shape);
        return t.To(dtype, device ?? Device.Cpu);
    }

    /// <summary>Uniform samples in [<paramref name="low"/>, <paramref name="high"/>) from a seeded <see cref="Generator"/>.</summary>
    public static Tensor Rand(ReadOnlySpan<long> shape, Generator generator, double low = 0, double high = 1, DType dtype = DType.Float32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var values = new float[ElementCount(shape)];
        generator.FillUniform(values, (float)low, (float)high);
        using var t = FromSpan<float>(values, shape);
        return t.To(dtype, device ?? Device.Cpu);
    }

    internal static long ElementCount(ReadOnlySpan<long> shape)
    {
        long n = 1;
        foreach (long d in shape) n *= d;
        return n;
    }
}
