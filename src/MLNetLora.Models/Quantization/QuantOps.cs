using MLNetLora.LibTorch;

namespace MLNetLora.Models.Quantization;

// ATen ops the quantizers need that the binding has no method for. Scalars travel as 0-dim CPU
// tensors (the dispatcher cannot convert `Scalar`); a 0-dim int64 operand keeps a uint8 tensor uint8.
internal static class QuantOps
{
    public static Tensor ShiftRight(Tensor x, int bits)
    {
        using var s = Tensor.Scalar(bits, DType.Int64);
        return Aten.Call("aten::bitwise_right_shift", "Tensor", x, s);
    }

    public static Tensor ShiftLeft(Tensor x, int bits)
    {
        using var s = Tensor.Scalar(bits, DType.Int64);
        return Aten.Call("aten::bitwise_left_shift", "Tensor", x, s);
    }

    public static Tensor BitAnd(Tensor x, int mask)
    {
        using var s = Tensor.Scalar(mask, DType.Int64);
        return Aten.Call("aten::bitwise_and", "Tensor", x, s);
    }

    public static Tensor BitOr(Tensor a, Tensor b) => Aten.Call("aten::bitwise_or", "Tensor", a, b);

    // Number of boundaries below x (right: false) or at or below x (right: true), as int64.
    public static Tensor Bucketize(Tensor x, Tensor boundaries, bool right) =>
        Aten.Call("aten::bucketize", "Tensor", x, boundaries, false, right);

    // 1/absmax, with 0 for an all-zero block: bitsandbytes' kernel would compute 0·inf = NaN there and
    // NaN falls through every comparison; both decode to zero, this way without a NaN on the way.
    public static Tensor SafeReciprocal(Tensor absmax)
    {
        using var scope = TensorScope.Begin();
        var inv = Aten.Call("aten::reciprocal", "", absmax);
        return scope.Keep(inv.MaskedFill(absmax.Eq(0), 0));
    }

    // Appends zeros up to `length` elements, as the CUDA kernels load a partial last block (value 0).
    public static Tensor PadTo(Tensor flat, long length)
    {
        long pad = length - flat.Size(0);
        if (pad == 0) return flat.Alias();
        using var zeros = Tensor.Zeros([pad], flat.DType, flat.Device);
        return Tensor.Cat([flat, zeros]);
    }

    public static Tensor ToDevice(float[] values, Device device)
    {
        using var host = Tensor.FromArray(values);
        return host.To(device);
    }
}
