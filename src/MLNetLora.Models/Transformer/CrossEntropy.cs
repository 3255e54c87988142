using MLNetLora.LibTorch;

namespace MLNetLora.Models.Transformer;

/// <summary>
/// Cross-entropy with ignored targets, forward and backward together (the backward is cheap once
/// the log-softmax exists). The sum over real targets is divided by a caller-given normaliser, so
/// gradient accumulation can divide by the token count of the whole accumulated batch.
/// </summary>
public static class CrossEntropy
{
    /// <summary>Targets with this value contribute nothing (as in PyTorch and transformers).</summary>
    public const long IgnoreIndex = -100;

    /// <summary>Loss and, optionally, its gradient with respect to the logits.</summary>
    /// <param name="logits">Scores (N, V), any float dtype; computed in float32 or float64.</param>
    /// <param name="targets">Class per row (N), or <see cref="IgnoreIndex"/>.</param>
    /// <param name="normalizer">Divides the summed loss; usually the number of real targets.</param>
    /// <param name="withGrad">Whether to return dLogits.</param>
    /// <returns>The loss and dLogits (N, V) in the logits' dtype (null without grad).</returns>
    /// <exception cref="ArgumentException">A target is out of range.</exception>
    public static (double Loss, Tensor? DLogits) Compute(Tensor logits, long[] targets, double normalizer, bool withGrad)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        long v = logits.Size(-1);
        var idx = new long[targets.Length];
        var valid = new double[targets.Length];
        for (int i = 0; i < targets.Length; i++)
        {
            long t = targets[i];
            if (t == IgnoreIndex) continue;
            if (t < 0 || t >= v) throw new ArgumentException($"Target {t} at row {i} is outside the {v} classes.", nameof(targets));
            idx[i] = t;
            valid[i] = 1;
        }
        using var scope = TensorScope.Begin();
        var statsType = logits.DType == DType.Float64 ? DType.Float64 : DType.Float32;
        var lf = logits.DType == statsType ? logits : logits.To(statsType);   // (N, V)
        var tIdx = Tensor.FromArray(idx, idx.Length, 1).To(logits.Device);     // (N, 1)
        var tValid = Tensor.FromArray(valid, valid.Length, 1).To(statsType, logits.Device); // (N, 1)
        var lsm = lf.LogSoftmax(-1);                                            // (N, V)
        var picked = lsm.Gather(-1, tIdx);                                      // (N, 1)
        double loss = -(picked * tValid).Sum().ToDouble() / normalizer;
        if (!withGrad) return (loss, null);
        // d = (softmax − onehot) · valid / normalizer, built in place on lsm: with a large vocabulary
        // every extra (N, V) temporary costs as much as the logits themselves.
        var scale = tValid * (1.0 / normalizer);                                // (N, 1)
        var d = lsm.Exp_().Mul_(scale).ScatterAdd_(-1, tIdx, -scale);           // (N, V)
        if (d.DType != logits.DType) d = d.To(logits.DType);
        return (loss, scope.Keep(d));
    }

    /// <summary>
    /// Next-token targets for causal language modelling: target[b, t] = labels[b, t+1], and the last
    /// position of each row is ignored (transformers pads the shifted labels with -100).
    /// </summary>
    /// <param name="labels">Labels (B·T, row-major), <see cref="IgnoreIndex"/> for prompt or padding.</param>
    /// <param name="batch">B.</param>
    /// <param name="time">T.</param>
    public static long[] ShiftForCausalLm(long[] labels, int batch, int time)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var shifted = new long[batch * time];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < time; t++)
                shifted[b * time + t] = t + 1 < time ? labels[b * time + t + 1] : IgnoreIndex;
        return shifted;
    }

    /// <summary>Number of targets that count (not <see cref="IgnoreIndex"/>).</summary>
    public static long CountTargets(IEnumerable<long> targets) => targets.LongCount(t => t != IgnoreIndex);
}
