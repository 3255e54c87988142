namespace MLNetLora.LibTorch;

/// <summary>
/// One argument of an ATen op called through the dispatcher (<see cref="Aten"/>). Every schema
/// argument must be passed, defaults included, in schema order. Implicit conversions cover tensors,
/// <c>int</c>/<c>long</c>, <c>double</c>, <c>bool</c>, <c>long[]</c> (<c>int[]</c> in a schema) and
/// <c>Tensor[]</c>; an optional (<c>T?</c>) schema argument takes <see cref="Some"/> or <see cref="None"/>.
/// </summary>
public readonly struct AtenArg
{
    internal enum ArgKind : byte { None, Tensor, UndefinedTensor, Int, Double, Bool, IntList, BoolList, TensorList, DType, Device }

    internal readonly ArgKind Kind;
    internal readonly bool IsOptional;
    internal readonly long Int;
    internal readonly double Double;
    internal readonly object? Ref;

    private AtenArg(ArgKind kind, long i = 0, double d = 0, object? r = null, bool optional = false)
    {
        Kind = kind; Int = i; Double = d; Ref = r; IsOptional = optional;
    }

    /// <summary>An absent optional value (<c>None</c>).</summary>
    public static AtenArg None => new(ArgKind.None);

    /// <summary>An undefined tensor, which some backward ops take in place of an absent input.</summary>
    public static AtenArg Undefined => new(ArgKind.UndefinedTensor);

    /// <summary>Wraps a present value for an optional (<c>T?</c>) schema argument.</summary>
    public static AtenArg Some(AtenArg value) =>
        value.Kind == ArgKind.None ? value : new(value.Kind, value.Int, value.Double, value.Ref, optional: true);

    /// <summary>A <c>Tensor?</c> argument: <see cref="None"/> when <paramref name="t"/> is null.</summary>
    public static AtenArg Optional(Tensor? t) => t is null ? None : Some(t);

    /// <summary>A <c>float?</c> argument: <see cref="None"/> when <paramref name="v"/> is null.</summary>
    public static AtenArg Optional(double? v) => v is null ? None : Some(v.Value);

    /// <summary>A <c>ScalarType</c> argument.</summary>
    public static AtenArg Of(DType t) => new(ArgKind.DType, (long)t);

    /// <summary>A <c>Device</c> argument.</summary>
    public static AtenArg Of(Device d) => new(ArgKind.Device, (long)d.Type, d.Index);

    /// <summary>A <c>bool[]</c> argument.</summary>
    public static AtenArg Of(bool[] flags) => new(ArgKind.BoolList, r: flags);

#pragma warning disable CA2225 // conversions are the intended API; named alternatives would only add noise
    /// <summary>A tensor argument.</summary>
    public static implicit operator AtenArg(Tensor t) => new(ArgKind.Tensor, r: t ?? throw new ArgumentNullException(nameof(t)));
    /// <summary>An <c>int</c> or <c>SymInt</c> argument.</summary>
    public static implicit operator AtenArg(long v) => new(ArgKind.Int, i: v);
    /// <summary>An <c>int</c> or <c>SymInt</c> argument.</summary>
    public static implicit operator AtenArg(int v) => new(ArgKind.Int, i: v);
    /// <summary>A <c>float</c> argument.</summary>
    public static implicit operator AtenArg(double v) => new(ArgKind.Double, d: v);
    /// <summary>A <c>bool</c> argument.</summary>
    public static implicit operator AtenArg(bool v) => new(ArgKind.Bool, i: v ? 1 : 0);
    /// <summary>An <c>int[]</c> argument.</summary>
    public static implicit operator AtenArg(long[] v) => new(ArgKind.IntList, r: v);
    /// <summary>A <c>Tensor[]</c> argument.</summary>
    public static implicit operator AtenArg(Tensor[] v) => new(ArgKind.TensorList, r: v);
#pragma warning restore CA2225

    internal string Describe() => Kind switch
    {
        ArgKind.Tensor => ((Tensor)Ref!).Describe(),
        ArgKind.TensorList => "[" + string.Join(", ", ((Tensor[])Ref!).Select(t => t.Describe())) + "]",
        ArgKind.IntList => "[" + string.Join(",", (long[])Ref!) + "]",
        ArgKind.BoolList => "[" + string.Join(",", (bool[])Ref!) + "]",
        ArgKind.Double => Double.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ArgKind.Bool => Int != 0 ? "True" : "False",
        ArgKind.DType => ((DType)Int).ToString(),
        ArgKind.Device => new Device((DeviceType)Int, (int)Double).ToString(),
        ArgKind.UndefinedTensor => "undefined",
        ArgKind.None => "None",
        _ => Int.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
