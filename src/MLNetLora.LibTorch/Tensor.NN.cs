namespace MLNetLora.LibTorch;

public sealed partial class Tensor
{
    /// <summary>Softmax along <paramref name="dim"/>.</summary>
    public Tensor Softmax(int dim) => Aten.Call("aten::softmax", "int", this, dim, AtenArg.None);

    /// <summary>Gradient of <see cref="Softmax"/>: <paramref name="dOut"/> pulled back through its <paramref name="output"/>.</summary>
    public static Tensor SoftmaxBackward(Tensor dOut, Tensor output, int dim) =>
        Aten.Call("aten::_softmax_backward_data", "", dOut, output, dim, AtenArg.Of(output.DType));

    /// <summary>Log-softmax along <paramref name="dim"/>.</summary>
    public Tensor LogSoftmax(int dim) => Aten.Call("aten::log_softmax", "int", this, dim, AtenArg.None);

    /// <summary>Gradient of <see cref="LogSoftmax"/> given its <paramref name="output"/>.</summary>
    public static Tensor LogSoftmaxBackward(Tensor dOut, Tensor output, int dim) =>
        Aten.Call("aten::_log_softmax_backward_data", "", dOut, output, dim, AtenArg.Of(output.DType));

    /// <summary>SiLU (swish): <c>x * sigmoid(x)</c>.</summary>
    public Tensor Silu() => Aten.Call("aten::silu", "", this);

    /// <summary>Gradient of <see cref="Silu"/> at input <paramref name="x"/>.</summary>
    public static Tensor SiluBackward(Tensor dOut, Tensor x) => Aten.Call("aten::silu_backward", "", dOut, x);

    /// <summary>Exact GELU, <c>0.5 x (1 + erf(x / √2))</c> (PyTorch's <c>approximate='none'</c>).</summary>
    public Tensor Gelu()
    {
        // aten::gelu takes a `str` argument, which libtorch 2.10's dispatcher cannot convert; the
        // erf form is the same function.
        using var scaled = Mul(1.0 / Math.Sqrt(2.0));
        using var erf = scaled.Erf();
        using var onePlus = erf.Add(1.0);
        using var half = Mul(0.5);
        return half.Mul(onePlus);
    }

    /// <summary>Gradient of <see cref="Gelu"/> at input <paramref name="x"/>: <c>Φ(x) + x φ(x)</c>.</summary>
    public static Tensor GeluBackward(Tensor dOut, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var scaled = x.Mul(1.0 / Math.Sqrt(2.0));
        using var erf = scaled.Erf();
        using var onePlus = erf.Add(1.0);
        using var cdf = onePlus.Mul(0.5);
        using var sq = x.Mul(x);
        using var negHalfSq = sq.Mul(-0.5);
        using var e = negHalfSq.Exp();
        using var pdf = e.Mul(1.0 / Math.Sqrt(2 * Math.PI));
        using var xpdf = x.Mul(pdf);
        using var grad = cdf.Add(xpdf);
        return dOut.Mul(grad);
    }

    /// <summary>Gradient of <see cref="Embedding"/> with respect to the table (rows summed per index).</summary>
    public static Tensor EmbeddingBackward(Tensor dOut, Tensor indices, long numWeights) =>
        Aten.Call("aten::embedding_dense_backward", "", dOut, indices, numWeights, -1L, false);
}
