using MLNetLora.LibTorch.Interop;

namespace MLNetLora.LibTorch;

public sealed unsafe partial class Tensor
{
    /// <summary>Pointer to the first element of a CPU tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor is not on the CPU.</exception>
    internal void* DataPointer()
    {
        if (Device.IsCuda) throw new InvalidOperationException($"{Describe()} is on the GPU; copy it with To(Device.Cpu) before reading its memory.");
        void* p;
        Aten.Check(AotiShim.get_data_ptr(RawHandle, &p), "aoti_torch_get_data_ptr");
        return p;
    }

    /// <summary>Copies the elements (converted to <typeparamref name="T"/>, row-major) into a new array.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var result = new T[NumEl];
        CopyTo<T>(result);
        return result;
    }

    /// <summary>Copies the elements (converted to <typeparamref name="T"/>, row-major) into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="NumEl"/>.</exception>
    public void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        long n = NumEl;
        if (destination.Length < n) throw new ArgumentException($"Destination holds {destination.Length} elements; the tensor has {n}.", nameof(destination));
        var dtype = DTypeExtensions.Of<T>();
        if (dtype == DType && !Device.IsCuda && IsContiguous)
        {
            new ReadOnlySpan<T>(DataPointer(), (int)n).CopyTo(destination);
            return;
        }
        using var host = To(dtype, Device.Cpu);
        new ReadOnlySpan<T>(host.DataPointer(), (int)n).CopyTo(destination);
    }

    /// <summary>The raw bytes of the elements in row-major order (for writing checkpoints).</summary>
    public byte[] ToBytes()
    {
        using var host = Device.IsCuda || !IsContiguous ? To(DType, Device.Cpu) : Alias();
        var bytes = new byte[host.NumEl * DType.ElementSize()];
        new ReadOnlySpan<byte>(host.DataPointer(), bytes.Length).CopyTo(bytes);
        return bytes;
    }

    /// <summary>
    /// Writes the raw little-endian bytes of the elements in row-major order to <paramref name="stream"/> (for
    /// checkpoints). A contiguous CPU tensor is written straight from its memory; any other is first copied
    /// into one contiguous CPU tensor, so callers that need bounded memory should pass slices.
    /// </summary>
    /// <returns>The number of bytes written.</returns>
    public long WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var host = Device.IsCuda || !IsContiguous ? To(DType, Device.Cpu) : Alias();
        long total = host.NumEl * DType.ElementSize();
        byte* p = (byte*)host.DataPointer();
        // Spans hold at most 2 GiB, so a larger tensor goes out in pieces.
        for (long done = 0; done < total; done += 1 << 30)
            stream.Write(new ReadOnlySpan<byte>(p + done, (int)Math.Min(total - done, 1 << 30)));
        return total;
    }

    /// <summary>The single value of a one-element tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor has more than one element.</exception>
    public T Item<T>() where T : unmanaged
    {
        if (NumEl != 1) throw new InvalidOperationException($"Item() needs a one-element tensor; {Describe()} has {NumEl}.");
        Span<T> one = stackalloc T[1];
        CopyTo(one);
        return one[0];
    }

    /// <summary>The single value of a one-element tensor as a double.</summary>
    public double ToDouble() => Item<double>();

    /// <summary>A new reference to the same storage (a second owner, not a copy).</summary>
    public Tensor Alias() => new(NewReference());

    /// <summary>A copy on <paramref name="device"/> (same dtype).</summary>
    public Tensor To(Device device) => To(DType, device);

    /// <summary>A copy converted to <paramref name="dtype"/> (same device).</summary>
    public Tensor To(DType dtype) => To(dtype, Device);

    /// <summary>A contiguous copy with the given dtype and device; libtorch converts and transfers in one copy.</summary>
    /// <exception cref="TorchException">The copy failed (for CUDA: out of memory or no CUDA build).</exception>
    public Tensor To(DType dtype, Device device)
    {
        var dst = Empty(Shape, dtype, device);
        if (AotiShim.copy_(dst.RawHandle, RawHandle) == 0) return dst;
        var error = Aten.Failure("aten::copy_", [dst, this]);
        dst.Dispose();
        throw error;
    }

    /// <summary>A contiguous copy.</summary>
    public Tensor Clone() => To(DType, Device);

    /// <summary>This tensor if already contiguous (as a new reference), else a contiguous copy.</summary>
    public Tensor Contiguous() => IsContiguous ? Alias() : Clone();

    /// <summary>Copies <paramref name="source"/> into this tensor in place (broadcasting, converting dtype and device).</summary>
    /// <exception cref="TorchException">The shapes cannot be broadcast.</exception>
    public void CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (AotiShim.copy_(RawHandle, source.RawHandle) != 0)
            throw Aten.Failure("aten::copy_", [this, source]);
    }

    /// <summary>Fills this tensor with <paramref name="value"/> in place.</summary>
    /// <returns>This tensor.</returns>
    public Tensor Fill_(double value)
    {
        Aten.Check(AotiShim.aten_fill__Scalar(RawHandle, value), "aten::fill_.Scalar");
        return this;
    }

    /// <summary>Sets every element to zero in place.</summary>
    /// <returns>This tensor.</returns>
    public Tensor Zero_() => Fill_(0);
}
