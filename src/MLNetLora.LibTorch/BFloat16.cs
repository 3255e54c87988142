namespace MLNetLora.LibTorch;

/// <summary>
/// A bfloat16 value: the top 16 bits of a float32. Conversion from float rounds to nearest even,
/// as PyTorch does, so values round-trip bit-exactly with libtorch.
/// </summary>
/// <param name="Bits">The raw 16 bits.</param>
public readonly record struct BFloat16(ushort Bits)
{
    /// <summary>Rounds a float to the nearest bfloat16 (ties to even; NaN stays NaN).</summary>
    public static BFloat16 FromSingle(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return new BFloat16((ushort)((u >> 16) | 0x40));
        uint roundingBias = 0x7FFF + ((u >> 16) & 1);
        return new BFloat16((ushort)((u + roundingBias) >> 16));
    }

    /// <summary>The exact float value.</summary>
    public float ToSingle() => BitConverter.UInt32BitsToSingle((uint)Bits << 16);

    /// <inheritdoc cref="FromSingle"/>
    public static explicit operator BFloat16(float value) => FromSingle(value);

    /// <inheritdoc cref="ToSingle"/>
    public static explicit operator float(BFloat16 value) => value.ToSingle();

    /// <inheritdoc/>
    public override string ToString() => ToSingle().ToString(System.Globalization.CultureInfo.InvariantCulture);
}
