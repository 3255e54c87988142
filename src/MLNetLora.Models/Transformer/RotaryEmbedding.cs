using MLNetLora.LibTorch;

namespace MLNetLora.Models.Transformer;

/// <summary>
/// Rotary position embedding in the Hugging Face "rotate half" layout: the first and second halves
/// of the rotary part of a head form the pairs. cos/sin tables are built once in float32 the way
/// transformers builds them (float32 inverse frequencies times float32 positions), so long
/// positions round the same way.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    private readonly Tensor cos, sin;   // (P, R) in the compute dtype
    private readonly Tensor? longCos, longSin;
    private readonly int? longThreshold;

    /// <summary>Builds tables for positions 0..<paramref name="maxPositions"/>-1.</summary>
    /// <param name="inverseFrequencies">One frequency per rotary pair.</param>
    /// <param name="attentionScaling">Factor on cos and sin.</param>
    /// <param name="maxPositions">Positions covered.</param>
    /// <param name="dtype">Table dtype.</param>
    /// <param name="device">Table device.</param>
    /// <param name="longInverseFrequencies"><c>longrope</c>: the frequencies for forwards whose positions pass <paramref name="longThreshold"/>.</param>
    /// <param name="longThreshold"><c>longrope</c>: the original context length.</param>
    public RotaryEmbedding(double[] inverseFrequencies, double attentionScaling, int maxPositions, DType dtype, Device device,
        double[]? longInverseFrequencies = null, int? longThreshold = null)
    {
        ArgumentNullException.ThrowIfNull(inverseFrequencies);
        RotaryDim = inverseFrequencies.Length * 2;
        MaxPositions = maxPositions;
        (cos, sin) = Tables(inverseFrequencies, attentionScaling, maxPositions, dtype, device);
        if (longInverseFrequencies is not null && longThreshold is int t)
        {
            (longCos, longSin) = Tables(longInverseFrequencies, attentionScaling, maxPositions, dtype, device);
            this.longThreshold = t;
        }
    }

    private static (Tensor Cos, Tensor Sin) Tables(double[] inverseFrequencies, double attentionScaling, int maxPositions, DType dtype, Device device)
    {
        int half = inverseFrequencies.Length, r = half * 2;
        var c = new float[maxPositions * r];
        var s = new float[maxPositions * r];
        for (int p = 0; p < maxPositions; p++)
            for (int i = 0; i < half; i++)
            {
                float angle = (float)inverseFrequencies[i] * p;
                float cv = MathF.Cos(angle) * (float)attentionScaling, sv = MathF.Sin(angle) * (float)attentionScaling;
                c[p * r + i] = c[p * r + i + half] = cv;
                s[p * r + i] = s[p * r + i + half] = sv;
            }
        using var tc = Tensor.FromArray(c, maxPositions, r);
        using var ts = Tensor.FromArray(s, maxPositions, r);
        return (tc.To(dtype, device).DetachFromScopes(), ts.To(dtype, device).DetachFromScopes());
    }

    /// <summary>Width of the rotated part of each head.</summary>
    public int RotaryDim { get; }

    /// <summary>Number of positions the tables cover.</summary>
    public int MaxPositions { get; }

    /// <summary>cos and sin for the given positions, shaped (B, 1, T, R) to broadcast over heads.</summary>
    /// <param name="positions">Position ids (B, T), int64.</param>
    public (Tensor Cos, Tensor Sin) Lookup(Tensor positions)
    {
        ArgumentNullException.ThrowIfNull(positions);
        // longrope, as transformers' dynamic update: a forward whose largest position passes the original
        // context uses the long factors for all of its tokens.
        bool useLong = longCos is not null && positions.Max().To(Device.Cpu).ToArray<long>()[0] + 1 > longThreshold;
        var (c, s) = useLong ? (longCos!, longSin!) : (cos, sin);
        return (c.Embedding(positions).Unsqueeze(1), s.Embedding(positions).Unsqueeze(1));
    }

    /// <summary><c>y = x·cos + rot(x)·sin</c> on the rotary part of x (B, H, T, D).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(cos);
        using var scope = TensorScope.Begin();
        int r = (int)cos.Size(-1), d = (int)x.Size(-1);
        var xr = r == d ? x : x.Narrow(-1, 0, r);              // (B, H, T, R)
        var y = xr * cos + RotateHalf(xr) * sin;               // (B, H, T, R)
        if (r != d) y = Tensor.Cat([y, x.Narrow(-1, r, d - r)], -1);
        return scope.Keep(y);
    }

    /// <summary>Backward of <see cref="Apply"/>: <c>dx = dy·cos − rot(dy·sin)</c> (the rotation is antisymmetric).</summary>
    public static Tensor Backward(Tensor dy, Tensor cos, Tensor sin)
    {
        ArgumentNullException.ThrowIfNull(dy);
        ArgumentNullException.ThrowIfNull(cos);
        using var scope = TensorScope.Begin();
        int r = (int)cos.Size(-1), d = (int)dy.Size(-1);
        var dr = r == d ? dy : dy.Narrow(-1, 0, r);            // (B, H, T, R)
        var dx = dr * cos - RotateHalf(dr * sin);              // (B, H, T, R)
        if (r != d) dx = Tensor.Cat([dx, dy.Narrow(-1, r, d - r)], -1);
        return scope.Keep(dx);
    }

    /// <summary><c>[x1, x2] → [−x2, x1]</c> on the last dimension.</summary>
    public static Tensor RotateHalf(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var scope = TensorScope.Begin();
        long half = x.Size(-1) / 2;
        var x1 = x.Narrow(-1, 0, half);
        var x2 = x.Narrow(-1, half, half);
        return scope.Keep(Tensor.Cat([-x2, x1], -1));
    }

    /// <summary>Frees the tables.</summary>
    public void Dispose()
    {
        cos.Dispose();
        longCos?.Dispose();
        longSin?.Dispose();
        sin.Dispose();
    }
}
