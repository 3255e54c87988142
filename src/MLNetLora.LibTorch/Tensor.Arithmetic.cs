using MLNetLora.LibTorch.Interop;

namespace MLNetLora.LibTorch;

public sealed unsafe partial class Tensor
{
    // Scalars travel as 0-dim CPU tensors: libtorch 2.10's dispatcher cannot convert `Scalar`, and a
    // 0-dim tensor combines with a tensor on any device without changing its dtype.
    private Tensor ScalarOperand(double value)
    {
        var dtype = DType.IsFloatingPoint() ? DType.Float64 : (Math.Floor(value) == value ? DType.Int64 : DType.Float64);
        return Scalar(value, dtype);
    }

    private Tensor WithScalar(string op, string overload, double value)
    {
        using var s = ScalarOperand(value);
        return Aten.Call(op, overload, this, s);
    }

    /// <summary><c>this + alpha * other</c> with broadcasting.</summary>
    public Tensor Add(Tensor other, double alpha = 1) => Subtract(other, -alpha, "aten::add.Tensor");

    /// <summary><c>this - alpha * other</c> with broadcasting.</summary>
    public Tensor Sub(Tensor other, double alpha = 1) => Subtract(other, alpha, "aten::sub.Tensor");

    private Tensor Subtract(Tensor other, double alpha, string opName)
    {
        ArgumentNullException.ThrowIfNull(other);
        // The shim takes alpha as a double, which libtorch refuses for integer tensors ("For integral input
        // tensors, argument alpha must not be a floating point number"). Integers go through float64,
        // exact for the magnitudes ids, positions and counts have (below 2^53).
        if (!DType.IsFloatingPoint() && !other.DType.IsFloatingPoint() && DType is not DType.Bool && Math.Floor(alpha) == alpha)
        {
            using var a = To(LibTorch.DType.Float64);
            using var b = other.To(LibTorch.DType.Float64);
            using var d = a.Subtract(b, alpha, opName);
            return d.To(DType == other.DType ? DType : LibTorch.DType.Int64);
        }
        nint h;
        if (AotiShim.aten_subtract_Tensor(RawHandle, other.RawHandle, alpha, &h) != 0)
            throw Aten.Failure(opName, [this, other]);
        return new Tensor(h);
    }

    /// <summary><c>this + value</c>.</summary>
    public Tensor Add(double value)
    {
        using var s = ScalarOperand(value);
        return Add(s);
    }

    /// <summary>Element-wise product with broadcasting.</summary>
    public Tensor Mul(Tensor other) => Aten.Call("aten::mul", "Tensor", this, other);

    /// <summary><c>this * value</c>.</summary>
    public Tensor Mul(double value) => WithScalar("aten::mul", "Tensor", value);

    /// <summary>Element-wise quotient with broadcasting.</summary>
    public Tensor Div(Tensor other) => Aten.Call("aten::div", "Tensor", this, other);

    /// <summary><c>this / value</c>.</summary>
    public Tensor Div(double value) => WithScalar("aten::div", "Tensor", value);

    /// <summary><c>this ^ exponent</c> element-wise.</summary>
    public Tensor Pow(double exponent) => WithScalar("aten::pow", "Tensor_Tensor", exponent);

    /// <summary><c>this ^ exponent</c> element-wise with broadcasting.</summary>
    public Tensor Pow(Tensor exponent) => Aten.Call("aten::pow", "Tensor_Tensor", this, exponent);

    /// <summary><c>-this</c>.</summary>
    public Tensor Neg() => Aten.Call("aten::neg", "", this);

    /// <summary><c>e^this</c>.</summary>
    public Tensor Exp() => Aten.Call("aten::exp", "", this);

    /// <summary>Natural logarithm.</summary>
    public Tensor Log() => Aten.Call("aten::log", "", this);

    /// <summary>Square root.</summary>
    public Tensor Sqrt() => Aten.Call("aten::sqrt", "", this);

    /// <summary><c>1 / sqrt(this)</c>.</summary>
    public Tensor Rsqrt() => Aten.Call("aten::rsqrt", "", this);

    /// <summary>Absolute value.</summary>
    public Tensor Abs() => Aten.Call("aten::abs", "", this);

    /// <summary>Logistic sigmoid.</summary>
    public Tensor Sigmoid() => Aten.Call("aten::sigmoid", "", this);

    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => Aten.Call("aten::tanh", "", this);

    /// <summary>Cosine.</summary>
    public Tensor Cos() => Aten.Call("aten::cos", "", this);

    /// <summary>Sine.</summary>
    public Tensor Sin() => Aten.Call("aten::sin", "", this);

    /// <summary>Error function.</summary>
    public Tensor Erf() => Aten.Call("aten::erf", "", this);

    /// <summary>Clamps into [<paramref name="min"/>, <paramref name="max"/>]; null leaves that side open.</summary>
    public Tensor Clamp(double? min, double? max)
    {
        using var lo = min is double a ? ScalarOperand(a) : null;
        using var hi = max is double b ? ScalarOperand(b) : null;
        return Aten.Call("aten::clamp", "Tensor", this, AtenArg.Optional(lo), AtenArg.Optional(hi));
    }

    /// <summary>Element-wise <c>this == other</c> (bool).</summary>
    public Tensor Eq(Tensor other) => Aten.Call("aten::eq", "Tensor", this, other);

    /// <summary>Element-wise <c>this == value</c> (bool).</summary>
    public Tensor Eq(double value) => WithScalar("aten::eq", "Tensor", value);

    /// <summary>Element-wise <c>this != value</c> (bool).</summary>
    public Tensor Ne(double value) => WithScalar("aten::ne", "Tensor", value);

    /// <summary>Element-wise <c>this &lt; other</c> (bool).</summary>
    public Tensor Lt(Tensor other) => Aten.Call("aten::lt", "Tensor", this, other);

    /// <summary>Element-wise <c>this &gt; value</c> (bool).</summary>
    public Tensor Gt(double value) => WithScalar("aten::gt", "Tensor", value);

    /// <summary>Element-wise check for finite values (bool).</summary>
    public Tensor IsFinite() => Aten.Call("aten::isfinite", "", this);

    /// <summary>Element-wise logical and (bool), with broadcasting.</summary>
    public Tensor LogicalAnd(Tensor other) => Aten.Call("aten::logical_and", "", this, other);

    /// <summary>Element-wise logical or (bool), with broadcasting.</summary>
    public Tensor LogicalOr(Tensor other) => Aten.Call("aten::logical_or", "", this, other);

    /// <summary>Element-wise logical not.</summary>
    public Tensor LogicalNot() => Aten.Call("aten::logical_not", "", this);

    /// <summary>Whether every element is true (0-dim bool tensor).</summary>
    public Tensor All() => Aten.Call("aten::all", "", this);

    /// <summary>Whether any element is true (0-dim bool tensor).</summary>
    public Tensor Any() => Aten.Call("aten::any", "", this);

    /// <summary><paramref name="self"/> where <paramref name="condition"/> holds, else <paramref name="other"/>.</summary>
    public static Tensor Where(Tensor condition, Tensor self, Tensor other) => Aten.Call("aten::where", "self", condition, self, other);

    /// <summary>Replaces elements where <paramref name="mask"/> is true by <paramref name="value"/>.</summary>
    public Tensor MaskedFill(Tensor mask, double value)
    {
        using var v = Scalar(value, DType, Device.Cpu);
        return Aten.Call("aten::masked_fill", "Tensor", this, mask, v);
    }

    /// <summary><c>beta * this + alpha * (mat1 @ mat2)</c> for 2-D matrices (this broadcasts to the result).</summary>
    /// <remarks><paramref name="beta"/> and <paramref name="alpha"/> pass through libtorch as 32-bit floats.</remarks>
    public Tensor Addmm(Tensor mat1, Tensor mat2, double beta = 1, double alpha = 1)
    {
        ArgumentNullException.ThrowIfNull(mat1);
        ArgumentNullException.ThrowIfNull(mat2);
        var result = Empty([mat1.Size(0), mat2.Size(1)], mat1.DType, mat1.Device);
        if (AotiShim.addmm_out(result.RawHandle, RawHandle, mat1.RawHandle, mat2.RawHandle, (float)beta, (float)alpha) != 0)
        {
            result.Dispose();
            throw Aten.Failure("aten::addmm", [this, mat1, mat2]);
        }
        return result;
    }

    /// <summary>Matrix product with numpy-style batching and broadcasting.</summary>
    public Tensor MatMul(Tensor other) => Aten.Call("aten::matmul", "", this, other);

    /// <summary>Product of two 2-D matrices.</summary>
    public Tensor Mm(Tensor other) => Aten.Call("aten::mm", "", this, other);

    /// <summary>Batched product of two 3-D tensors.</summary>
    public Tensor Bmm(Tensor other) => Aten.Call("aten::bmm", "", this, other);

    /// <summary><c>x @ weightᵀ + bias</c>, as <c>torch.nn.functional.linear</c>.</summary>
    public Tensor Linear(Tensor weight, Tensor? bias = null) => Aten.Call("aten::linear", "", this, weight, AtenArg.Optional(bias));

#pragma warning disable CA2225 // named methods exist (Add, Sub, Mul, Div, Neg)
    /// <summary>Element-wise sum.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    /// <summary>Element-wise sum with a constant.</summary>
    public static Tensor operator +(Tensor a, double b) => a.Add(b);
    /// <summary>Element-wise difference.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    /// <summary>Element-wise difference with a constant.</summary>
    public static Tensor operator -(Tensor a, double b) => a.Add(-b);
    /// <summary>Element-wise product.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    /// <summary>Product with a constant.</summary>
    public static Tensor operator *(Tensor a, double b) => a.Mul(b);
    /// <summary>Product with a constant.</summary>
    public static Tensor operator *(double a, Tensor b) => b.Mul(a);
    /// <summary>Element-wise quotient.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    /// <summary>Quotient by a constant.</summary>
    public static Tensor operator /(Tensor a, double b) => a.Div(b);
    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => a.Neg();
#pragma warning restore CA2225
}
