using MLNetLora.LibTorch;

namespace MLNetLora.Models.Transformer;

public sealed partial class DecoderModel
{
    /// <summary>Most logits (rows × vocabulary) materialised at once by <see cref="LmHeadLoss"/>; default 16M values, 64 MiB in float32.</summary>
    public long LogitChunkElements { get; set; } = 1L << 24;

    /// <summary>
    /// LM head, cross-entropy and their backward in row chunks: logits of at most
    /// <see cref="LogitChunkElements"/> values exist at a time, so a 128k-token vocabulary does not
    /// need a (B·T, V) logits tensor and its gradient (fused linear cross-entropy, as Liger/Unsloth do).
    /// </summary>
    /// <param name="hidden">Final hidden states (B, T, C).</param>
    /// <param name="targets">Next-token targets (B·T), -100 to ignore.</param>
    /// <param name="normalizer">Divides the summed loss.</param>
    /// <param name="backward">Also return the gradient of the hidden states.</param>
    /// <returns>The loss and dHidden (B, T, C) when <paramref name="backward"/>.</returns>
    public (double Loss, Tensor? DHidden) LmHeadLoss(Tensor hidden, long[] targets, double normalizer, bool backward)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(targets);
        using var scope = TensorScope.Begin();
        long n = hidden.Size(0) * hidden.Size(1), c = hidden.Size(2);
        var h2 = hidden.Reshape(n, c);                                                     // (N, C)
        var w = LmHead.Weight;                                                             // (V, C)
        long rows = Math.Max(1, LogitChunkElements / Spec.VocabSize);
        double loss = 0;
        var dParts = new List<Tensor>();
        for (long r0 = 0; r0 < n; r0 += rows)
        {
            long len = Math.Min(rows, n - r0);
            using var chunk = TensorScope.Begin();
            var hc = h2.Narrow(0, r0, len);                                                // (n, C)
            var logits = hc.Linear(w);                                                     // (n, V)
            var (l, d) = CrossEntropy.Compute(logits, targets[(int)r0..(int)(r0 + len)], normalizer, backward);
            loss += l;
            if (!backward) continue;
            dParts.Add(chunk.Keep(d!.Mm(w)));                                              // (n, C)
            LmHead.GradWeight?.Addmm_(d.T(), hc);                                          // (V, C) += dlogitsᵀ h
        }
        if (!backward) return (loss, null);
        var dh = dParts.Count == 1 ? dParts[0] : Tensor.Cat(dParts.ToArray(), 0);          // (N, C)
        return (loss, scope.Keep(dh.View(hidden.Shape)));
    }
}
