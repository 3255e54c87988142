namespace MLNetLora.LibTorch;

public sealed partial class Tensor
{
    /// <summary>A view with a new shape (one dimension may be -1); needs compatible strides.</summary>
    public Tensor View(params long[] shape) => Aten.Call("aten::view", "", this, shape);

    /// <summary>A tensor with a new shape: a view when possible, else a copy.</summary>
    public Tensor Reshape(params long[] shape) => Aten.Call("aten::reshape", "", this, shape);

    /// <summary>Swaps two dimensions (a view).</summary>
    public Tensor Transpose(int dim0, int dim1) => Aten.Call("aten::transpose", "int", this, dim0, dim1);

    /// <summary>Transpose of a 2-D matrix (a view).</summary>
    public Tensor T() => Transpose(0, 1);

    /// <summary>Reorders dimensions (a view).</summary>
    public Tensor Permute(params long[] dims) => Aten.Call("aten::permute", "", this, dims);

    /// <summary><paramref name="length"/> elements of <paramref name="dim"/> starting at <paramref name="start"/> (a view).</summary>
    public Tensor Narrow(int dim, long start, long length) => Aten.Call("aten::narrow", "", this, dim, start, length);

    /// <summary>Elements <c>start..end</c> (exclusive, negative from the end) of <paramref name="dim"/> with a step (a view).</summary>
    public Tensor Slice(int dim, long? start, long? end, long step = 1) =>
        Aten.Call("aten::slice", "Tensor", this, dim,
            start is long s ? AtenArg.Some(s) : AtenArg.None, end is long e ? AtenArg.Some(e) : AtenArg.None, step);

    /// <summary>Inserts a dimension of size one.</summary>
    public Tensor Unsqueeze(int dim) => Aten.Call("aten::unsqueeze", "", this, dim);

    /// <summary>Removes a dimension of size one.</summary>
    public Tensor Squeeze(int dim) => Aten.Call("aten::squeeze", "dim", this, dim);

    /// <summary>Broadcasts to <paramref name="shape"/> without copying (-1 keeps a size).</summary>
    public Tensor Expand(params long[] shape) => Aten.Call("aten::expand", "", this, shape, false);

    /// <summary>Flattens dimensions <paramref name="start"/>..<paramref name="end"/> into one.</summary>
    public Tensor Flatten(int start = 0, int end = -1) => Aten.Call("aten::flatten", "using_ints", this, start, end);

    /// <summary>Repeats each slice along <paramref name="dim"/> <paramref name="repeats"/> times (for grouped-query attention).</summary>
    public Tensor RepeatInterleave(long repeats, int dim) =>
        Aten.Call("aten::repeat_interleave", "self_int", this, repeats, AtenArg.Some(dim), AtenArg.None);

    /// <summary>Concatenates along an existing dimension.</summary>
    public static Tensor Cat(Tensor[] tensors, int dim = 0) => Aten.Call("aten::cat", "", tensors, dim);

    /// <summary>Stacks along a new dimension.</summary>
    public static Tensor Stack(Tensor[] tensors, int dim = 0) => Aten.Call("aten::stack", "", tensors, dim);

    /// <summary>Selects slices of <paramref name="dim"/> by an int64 index vector.</summary>
    public Tensor IndexSelect(int dim, Tensor index) => Aten.Call("aten::index_select", "", this, dim, index);

    /// <summary>Gathers values along <paramref name="dim"/> at <paramref name="index"/>.</summary>
    public Tensor Gather(int dim, Tensor index) => Aten.Call("aten::gather", "", this, dim, index, false);

    /// <summary>Adds <paramref name="src"/> into a copy of this tensor at <paramref name="index"/> along <paramref name="dim"/>.</summary>
    public Tensor ScatterAdd(int dim, Tensor index, Tensor src) => Aten.Call("aten::scatter_add", "", this, dim, index, src);

    /// <summary>Rows of this embedding table at <paramref name="indices"/>.</summary>
    public Tensor Embedding(Tensor indices) => Aten.Call("aten::embedding", "", this, indices, -1L, false, false);

    /// <summary>Lower (<paramref name="diagonal"/> ≥ 0 keeps more) triangle; the rest is zero.</summary>
    public Tensor Tril(long diagonal = 0) => Aten.Call("aten::tril", "", this, diagonal);
}
