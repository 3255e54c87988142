namespace MLNetLora.LibTorch;

public sealed partial class Tensor
{
    // In-place ops return a second reference to `this`; it is released at once so callers keep one owner.
    private Tensor InPlace(string op, string overload, params ReadOnlySpan<AtenArg> rest)
    {
        var args = new AtenArg[rest.Length + 1];
        args[0] = this;
        rest.CopyTo(args.AsSpan(1));
        Aten.Call(op, overload, args).Dispose();
        return this;
    }

    /// <summary><c>this ← e^this</c>, in place.</summary>
    /// <returns>This tensor.</returns>
    public Tensor Exp_() => InPlace("aten::exp_", "");

    /// <summary><c>this ← this ⊙ other</c> (broadcast), in place.</summary>
    /// <returns>This tensor.</returns>
    public Tensor Mul_(Tensor other) => InPlace("aten::mul_", "Tensor", other);

    /// <summary><c>this ← this · value</c>, in place.</summary>
    /// <returns>This tensor.</returns>
    public Tensor Mul_(double value)
    {
        using var s = ScalarOperand(value);
        return Mul_(s);
    }

    /// <summary><c>this ← this + src</c> at <paramref name="index"/> along <paramref name="dim"/>, in place.</summary>
    /// <returns>This tensor.</returns>
    public Tensor ScatterAdd_(int dim, Tensor index, Tensor src) => InPlace("aten::scatter_add_", "", dim, index, src);

    /// <summary><c>this ← beta · this + alpha · (mat1 @ mat2)</c>, in place (a BLAS gemm with β, no temporary product).</summary>
    /// <remarks>Used to accumulate weight gradients without allocating a second (out, in) matrix per step.
    /// <paramref name="beta"/> and <paramref name="alpha"/> pass through libtorch as 32-bit floats.</remarks>
    /// <returns>This tensor.</returns>
    /// <exception cref="TorchException">The shapes do not multiply to this tensor's shape.</exception>
    public unsafe Tensor Addmm_(Tensor mat1, Tensor mat2, double beta = 1, double alpha = 1)
    {
        ArgumentNullException.ThrowIfNull(mat1);
        ArgumentNullException.ThrowIfNull(mat2);
        if (Interop.AotiShim.addmm_out(RawHandle, RawHandle, mat1.RawHandle, mat2.RawHandle, (float)beta, (float)alpha) != 0)
            throw Aten.Failure("aten::addmm_", [this, mat1, mat2]);
        return this;
    }

    /// <summary><c>this ← this + other</c> (broadcast), written into this tensor.</summary>
    /// <remarks>libtorch's <c>add_</c> takes a <c>Scalar</c> alpha, which its dispatcher cannot be given, so the
    /// sum goes through one temporary and a copy. Meant for small tensors (norm and bias gradients); large
    /// accumulations are gemms and use <see cref="Addmm_"/>, which writes in place.</remarks>
    /// <returns>This tensor.</returns>
    public Tensor Add_(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        using var sum = this + other;
        CopyFrom(sum);
        return this;
    }
}
