using MLNetLora.LibTorch;

namespace MLNetLora.Training.Optim;

/// <summary>Global-norm gradient clipping as <c>torch.nn.utils.clip_grad_norm_</c>.</summary>
public static class GradientClipping
{
    /// <summary>The L2 norm of all gradients together.</summary>
    public static double GlobalNorm(IEnumerable<Tensor> gradients)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        double sum = 0;
        foreach (var g in gradients)
        {
            using var scope = TensorScope.Begin();
            sum += (g * g).Sum().ToDouble();
        }
        return Math.Sqrt(sum);
    }

    /// <summary>
    /// Scales every gradient by <c>min(1, maxNorm / (norm + 1e-6))</c> and returns the norm before
    /// clipping. A non-finite norm leaves the gradients untouched (the watchdog decides what to do).
    /// </summary>
    public static double ClipByGlobalNorm(IReadOnlyList<Tensor> gradients, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        double norm = GlobalNorm(gradients);
        if (maxNorm <= 0 || !double.IsFinite(norm)) return norm;
        double coef = Math.Min(1.0, maxNorm / (norm + 1e-6));
        if (coef >= 1.0) return norm;
        foreach (var g in gradients)
        {
            using var scope = TensorScope.Begin();
            g.CopyFrom(g * coef);
        }
        return norm;
    }
}
