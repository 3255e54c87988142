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
}
