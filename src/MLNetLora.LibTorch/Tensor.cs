using System.Globalization;
using MLNetLora.LibTorch.Interop;

namespace MLNetLora.LibTorch;

/// <summary>
/// An n-dimensional array in libtorch memory (CPU or CUDA) with deterministic lifetime: dispose it,
/// or create it inside a <see cref="TensorScope"/> that frees it. The type is split across partial
/// files by concept: creation, data transfer, arithmetic, reductions, shapes, neural-network ops.
/// </summary>
public sealed unsafe partial class Tensor : IDisposable
{
    private readonly TensorHandle handle;
    private long[]? shape;

    /// <summary>Wraps an owning handle returned by libtorch and registers it with the current scope.</summary>
    internal Tensor(nint owningHandle)
    {
        handle = new TensorHandle(owningHandle);
        Scope = TensorScope.Current;
        Scope?.Register(this);
    }

    /// <summary>The scope that will free this tensor, or null when the caller owns it.</summary>
    internal TensorScope? Scope { get; set; }

    internal nint RawHandle
    {
        get
        {
            ObjectDisposedException.ThrowIf(handle.IsClosed, this);
            return handle.DangerousGetHandle();
        }
    }

    /// <summary>A new libtorch reference to the same tensor, for calls that take ownership of their arguments.</summary>
    internal nint NewReference()
    {
        nint h;
        Aten.Check(AotiShim.new_tensor_handle(RawHandle, &h), "aoti_torch_new_tensor_handle");
        return h;
    }

    /// <summary>Whether <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => handle.IsClosed;

    /// <summary>Releases this reference to the native tensor.</summary>
    public void Dispose() => handle.Dispose();

    /// <summary>Moves this tensor out of its scope into the enclosing one (or to the caller).</summary>
    /// <returns>This tensor.</returns>
    public Tensor MoveToOuterScope() => Scope is null ? this : Scope.Keep(this);

    /// <summary>Detaches this tensor from every scope: the caller must dispose it.</summary>
    /// <returns>This tensor.</returns>
    public Tensor DetachFromScopes()
    {
        while (Scope is not null) Scope.Keep(this);
        return this;
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>Size of each dimension (cached: shapes of our tensors never change in place).</summary>
    public long[] Shape
    {
        get
        {
            if (shape is not null) return shape;
            long dim;
            long* sizes;
            Aten.Check(AotiShim.get_dim(RawHandle, &dim), "aoti_torch_get_dim");
            Aten.Check(AotiShim.get_sizes(RawHandle, &sizes), "aoti_torch_get_sizes");
            shape = new ReadOnlySpan<long>(sizes, (int)dim).ToArray();
            return shape;
        }
    }

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public long Size(int dim) => Shape[dim < 0 ? dim + Rank : dim];

    /// <summary>Element strides of each dimension.</summary>
    public long[] Strides
    {
        get
        {
            long* strides;
            Aten.Check(AotiShim.get_strides(RawHandle, &strides), "aoti_torch_get_strides");
            return new ReadOnlySpan<long>(strides, Rank).ToArray();
        }
    }

    /// <summary>Total number of elements.</summary>
    public long NumEl
    {
        get
        {
            long n;
            Aten.Check(AotiShim.get_numel(RawHandle, &n), "aoti_torch_get_numel");
            return n;
        }
    }

    /// <summary>Element type.</summary>
    public DType DType
    {
        get
        {
            int code;
            Aten.Check(AotiShim.get_dtype(RawHandle, &code), "aoti_torch_get_dtype");
            return Torch.DTypeFromCode(code);
        }
    }

    /// <summary>Where the data lives.</summary>
    public Device Device
    {
        get
        {
            int type, index;
            Aten.Check(AotiShim.get_device_type(RawHandle, &type), "aoti_torch_get_device_type");
            Aten.Check(AotiShim.get_device_index(RawHandle, &index), "aoti_torch_get_device_index");
            var t = Torch.DeviceTypeFromCode(type);
            return new Device(t, t == DeviceType.Cpu ? -1 : index);
        }
    }

    /// <summary>Whether the elements are laid out densely in row-major order.</summary>
    public bool IsContiguous
    {
        get
        {
            int c;
            Aten.Check(AotiShim.is_contiguous(RawHandle, &c), "aoti_torch_is_contiguous");
            return c != 0;
        }
    }

    /// <summary>Shape, dtype and device, as used in error messages: <c>Tensor[2,3] Float32 cpu</c>.</summary>
    public string Describe() =>
        IsDisposed ? "Tensor(disposed)" : $"Tensor[{string.Join(",", Shape)}] {DType} {Device}";

    /// <inheritdoc/>
    public override string ToString()
    {
        if (IsDisposed || NumEl > 16 || !DType.IsFloatingPoint()) return Describe();
        var values = ToArray<double>();
        return Describe() + " {" + string.Join(", ", values.Select(v => v.ToString("G6", CultureInfo.InvariantCulture))) + "}";
    }
}
