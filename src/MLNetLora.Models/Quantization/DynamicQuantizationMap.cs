using System.Globalization;

namespace MLNetLora.Models.Quantization;

/// <summary>
/// bitsandbytes' 8-bit "dynamic" code (<c>functional.create_dynamic_map</c>), which QLoRA's double
/// quantization uses for the per-block absmax values: a dynamic exponent with a linear fraction, so
/// small magnitudes keep relative precision.
/// </summary>
public static class DynamicQuantizationMap
{
    /// <summary>
    /// Rebuilds <c>create_dynamic_map(signed, max_exponent_bits, total_bits)</c> value for value:
    /// the same float32 <c>torch.linspace</c>, midpoint means, powers of ten and final sort.
    /// </summary>
    /// <param name="signed">Whether the map has negative values.</param>
    /// <param name="maxExponentBits">Decades below 1 that the map covers.</param>
    /// <param name="totalBits">Bits per code; the map has 256 entries (zero-filled) either way.</param>
    /// <returns>256 ascending float32 values.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The parameters do not give 2^totalBits values (bitsandbytes asserts the same).</exception>
    public static float[] Create(bool signed = true, int maxExponentBits = 7, int totalBits = 8)
    {
        if (totalBits is < 2 or > 8) throw new ArgumentOutOfRangeException(nameof(totalBits), totalBits, "totalBits must be in 2..8.");
        if (maxExponentBits < 1 || maxExponentBits > totalBits - 1)
            throw new ArgumentOutOfRangeException(nameof(maxExponentBits), maxExponentBits, $"maxExponentBits must be in 1..{totalBits - 1}.");
        var data = new List<double>();
        int nonSignBits = totalBits - 1;   // bitsandbytes writes `total_bits - (1 if signed else 1)`
        int additionalItems = (1 << (nonSignBits - maxExponentBits)) - 1;
        int i = 0;
        for (i = 0; i < maxExponentBits; i++)
        {
            int fractionItems = signed ? (1 << (i + nonSignBits - maxExponentBits)) + 1 : (1 << (i + nonSignBits - maxExponentBits + 1)) + 1;
            AddMeans(data, fractionItems, Decade(i - (maxExponentBits - 1)), signed);
        }
        // Python's loop variable outlives the loop, so this branch uses the last decade (i = max - 1).
        if (additionalItems > 0) AddMeans(data, additionalItems + 1, Decade(i - 1 - (maxExponentBits - 1)), signed);
        data.Add(0);
        data.Add(1.0);
        if (data.Count != 1 << totalBits)
            throw new ArgumentOutOfRangeException(nameof(maxExponentBits), $"create_dynamic_map({signed}, {maxExponentBits}, {totalBits}) gives {data.Count} values, not {1 << totalBits}.");
        while (data.Count < 256) data.Add(0);
        data.Sort();
        return data.Select(v => (float)v).ToArray();
    }

    // `10 ** e` in Python: an int 1 for e = 0, else the double nearest 10^e; torch then multiplies
    // a float32 tensor by it, which casts the scalar to float32 first.
    private static float Decade(int e) => e == 0 ? 1f : (float)double.Parse("1e" + e.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static void AddMeans(List<double> data, int items, float scale, bool signed)
    {
        var b = Linspace(0.1f, 1f, items);                                   // (items) float32 boundaries
        var means = new float[items - 1];
        for (int k = 0; k < means.Length; k++) means[k] = (b[k] + b[k + 1]) / 2.0f;
        foreach (var m in means) data.Add(scale * m);                         // float32 product, as torch
        if (signed) foreach (var m in means) data.Add(-scale * m);
    }

    /// <summary>
    /// <c>torch.linspace(start, end, steps)</c> in float32 as ATen computes each element: the step in
    /// float32, the first half counted up from start and the second half down from end, each element
    /// one fused multiply-add (the compiler contracts <c>start + step·i</c> in ATen's x86 CPU kernel, and
    /// nvcc does in the CUDA one; checked bit for bit against libtorch's CPU linspace in the tests).
    /// </summary>
    /// <param name="start">First value.</param>
    /// <param name="end">Last value.</param>
    /// <param name="steps">Number of values (at least 1).</param>
    /// <returns>The values.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="steps"/> is below 1.</exception>
    public static float[] Linspace(float start, float end, int steps)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must be at least 1.");
        if (steps == 1) return [start];
        float step = (end - start) / (steps - 1);
        int halfway = steps / 2;
        var r = new float[steps];
        for (int k = 0; k < steps; k++)
            r[k] = k < halfway ? MathF.FusedMultiplyAdd(step, k, start) : MathF.FusedMultiplyAdd(-step, steps - k - 1, end);
        return r;
    }

    /// <summary>
    /// The decision thresholds of bitsandbytes' <c>dQuantize</c> binary search over a sorted 256-value
    /// code, split by how a tie resolves. The search ends on an even index p and rounds to the nearer of
    /// p-1, p, p+1 with a tie going to p, so the boundary between k and k+1 (<c>(code[k]+code[k+1])·0.5f</c>)
    /// is crossed when x &gt; it for even k and when x ≥ it for odd k.
    /// </summary>
    /// <param name="code">256 ascending values.</param>
    /// <returns>Boundaries after even k (crossed when strictly greater) and after odd k (crossed when greater or equal).</returns>
    /// <exception cref="ArgumentException"><paramref name="code"/> does not have 256 values.</exception>
    internal static (float[] Strict, float[] Inclusive) Boundaries(float[] code)
    {
        if (code.Length != 256) throw new ArgumentException("The code must have 256 values.", nameof(code));
        var strict = new List<float>();
        var inclusive = new List<float>();
        for (int k = 0; k < 255; k++)
            (k % 2 == 0 ? strict : inclusive).Add((code[k] + code[k + 1]) * 0.5f);
        return (strict.ToArray(), inclusive.ToArray());
    }
}
