namespace MLNetLora.LibTorch;

public sealed partial class Tensor
{
    /// <summary>Sum of all elements (0-dim).</summary>
    public Tensor Sum() => Aten.Call("aten::sum", "", this, AtenArg.None);

    /// <summary>Sum over <paramref name="dims"/>.</summary>
    public Tensor Sum(long[] dims, bool keepDim = false) =>
        Aten.Call("aten::sum", "dim_IntList", this, AtenArg.Some(dims), keepDim, AtenArg.None);

    /// <summary>Sum over one dimension.</summary>
    public Tensor Sum(int dim, bool keepDim = false) => Sum([dim], keepDim);

    /// <summary>Mean of all elements (0-dim).</summary>
    public Tensor Mean() => Aten.Call("aten::mean", "", this, AtenArg.None);

    /// <summary>Mean over <paramref name="dims"/>.</summary>
    public Tensor Mean(long[] dims, bool keepDim = false) =>
        Aten.Call("aten::mean", "dim", this, AtenArg.Some(dims), keepDim, AtenArg.None);

    /// <summary>Mean over one dimension.</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Mean([dim], keepDim);

    /// <summary>Maximum over one dimension: values and their indices.</summary>
    public (Tensor Values, Tensor Indices) Max(int dim, bool keepDim = false)
    {
        var r = Aten.CallMany("aten::max", "dim", 2, this, dim, keepDim);
        return (r[0], r[1]);
    }

    /// <summary>Maximum over all elements (0-dim).</summary>
    public Tensor Max() => Aten.Call("aten::max", "", this);

    /// <summary>Maximum values over <paramref name="dims"/>.</summary>
    public Tensor Amax(long[] dims, bool keepDim = false) => Aten.Call("aten::amax", "", this, dims, keepDim);

    /// <summary>Index of the maximum along <paramref name="dim"/>.</summary>
    public Tensor ArgMax(int dim, bool keepDim = false) => Aten.Call("aten::argmax", "", this, AtenArg.Some(dim), keepDim);

    /// <summary>Cumulative sum along <paramref name="dim"/>.</summary>
    public Tensor CumSum(int dim) => Aten.Call("aten::cumsum", "", this, dim, AtenArg.None);

    /// <summary>Sorts along <paramref name="dim"/>: values and original indices.</summary>
    public (Tensor Values, Tensor Indices) Sort(int dim = -1, bool descending = false)
    {
        var r = Aten.CallMany("aten::sort", "", 2, this, dim, descending);
        return (r[0], r[1]);
    }
}
