using MLNetLora.LibTorch;

namespace MLNetLora.Models.Transformer;

/// <summary>
/// RMSNorm over the last dimension, <c>y = w ⊙ x · rsqrt(mean(x²) + eps)</c>, with its backward.
/// Statistics are computed in float32 (or float64) even for bfloat16 inputs, as transformers does.
/// Backward returns the input gradient and, when the weight is trained, adds its gradient to a buffer.
/// </summary>
public static class RmsNorm
{
    /// <summary>Forward pass.</summary>
    /// <param name="x">Input (..., C).</param>
    /// <param name="weight">Scale (C).</param>
    /// <param name="eps">Added to the mean square.</param>
    /// <param name="rstd">Receives rsqrt(mean(x²)+eps), (..., 1), in the statistics dtype, for backward.</param>
    /// <returns>Normalised output (..., C) in the input's dtype.</returns>
    public static Tensor Forward(Tensor x, Tensor weight, double eps, out Tensor rstd)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var scope = TensorScope.Begin();
        var xf = StatsView(x);                                  // (..., C) float32/64
        var ms = (xf * xf).Mean(-1, keepDim: true);             // (..., 1)
        rstd = scope.Keep((ms + eps).Rsqrt());                  // (..., 1)
        var xhat = xf * rstd;                                   // (..., C)
        if (xhat.DType != x.DType) xhat = xhat.To(x.DType);
        return scope.Keep(weight * xhat);                       // (..., C)
    }

    /// <summary>Backward pass: <c>dx = rstd · (g − x̂ · mean(g ⊙ x̂))</c> with <c>g = dy ⊙ w</c>.</summary>
    /// <param name="dy">Gradient of the output (..., C).</param>
    /// <param name="x">The forward input (..., C).</param>
    /// <param name="weight">Scale (C).</param>
    /// <param name="rstd">From <see cref="Forward"/>.</param>
    /// <param name="gradWeight">The weight's gradient buffer (C), which receives <c>Σ dy ⊙ x̂</c> over every position; null when the weight is frozen.</param>
    /// <returns>Gradient of the input (..., C) in the input's dtype.</returns>
    public static Tensor Backward(Tensor dy, Tensor x, Tensor weight, Tensor rstd, Tensor? gradWeight = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(dy);
        using var scope = TensorScope.Begin();
        var xhat = StatsView(x) * rstd;                         // (..., C)
        var g = StatsView(dy) * StatsView(weight);              // (..., C)
        var proj = (g * xhat).Mean(-1, keepDim: true);          // (..., 1)
        var dx = (g - xhat * proj) * rstd;                      // (..., C)
        if (gradWeight is not null)
        {
            var dw = (StatsView(dy) * xhat).Reshape(-1, xhat.Size(-1)).Sum(0); // (C)
            gradWeight.Add_(dw.DType == gradWeight.DType ? dw : dw.To(gradWeight.DType));
        }
        if (dx.DType != x.DType) dx = dx.To(x.DType);
        return scope.Keep(dx);
    }

    // Half-precision inputs are normalised in float32; float32/64 stay as they are.
    private static Tensor StatsView(Tensor t) =>
        t.DType is DType.BFloat16 or DType.Float16 ? t.To(DType.Float32) : t.Alias();
}
