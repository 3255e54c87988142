using MLNetLora.LibTorch;

namespace MLNetLora.Models.Generation;

/// <summary>
/// Turns next-token logits into one token per row, in transformers' order: repetition penalty, then
/// (when sampling) temperature, top-k, top-p, and an inverse-CDF draw from a seeded
/// <see cref="Generator"/>. The filtering runs on the model's device; only B ids come back.
/// </summary>
internal static class TokenSelector
{
    /// <summary>Picks the next token of every row.</summary>
    /// <param name="logits">Next-token logits (B, V).</param>
    /// <param name="options">Decoding options (validated).</param>
    /// <param name="history">Tokens each row holds so far (prompt without padding, then generated), for the repetition penalty.</param>
    /// <param name="generator">Draws one uniform number per row when sampling; unused when greedy.</param>
    /// <returns>One token id per row.</returns>
    public static long[] Select(Tensor logits, GenerationOptions options, IReadOnlyList<List<int>> history, Generator? generator)
    {
        using var scope = TensorScope.Begin();
        // Half-precision logits are processed in float32 so that temperature, softmax and cumulative sums
        // do not lose the tail; float64 models stay in float64.
        var scores = logits.DType is DType.Float32 or DType.Float64 ? logits : logits.To(DType.Float32);   // (B, V)
        if (options.RepetitionPenalty != 1.0) scores = RepetitionPenalty(scores, history, options.RepetitionPenalty);
        if (!options.DoSample) return scores.ArgMax(-1).ToArray<long>();
        if (generator is null) throw new ArgumentNullException(nameof(generator), "Sampling needs a generator.");
        if (options.Temperature != 1.0) scores = scores / options.Temperature;
        var (sorted, order) = scores.Sort(-1, descending: true);                            // (B, V) x2
        long v = sorted.Size(-1);
        if (options.TopK > 0 && options.TopK < v)
        {
            var rank = Tensor.Arange(v, DType.Int64, sorted.Device);                         // (V)
            sorted = sorted.MaskedFill(rank.Gt(options.TopK - 1), double.NegativeInfinity);  // (B, V)
        }
        if (options.TopP < 1.0)
        {
            // Keep a token while the probability of the tokens ranked above it is below top_p: the
            // descending form of transformers' "cumulative ascending probability <= 1 - top_p" rule,
            // and the most likely token always stays.
            var p = sorted.Softmax(-1);                                                      // (B, V)
            var above = p.CumSum(-1) - p;                                                    // (B, V)
            using var threshold = Tensor.Scalar(options.TopP, above.DType);
            sorted = sorted.MaskedFill(above.Lt(threshold).LogicalNot(), double.NegativeInfinity);
        }
        return Draw(sorted, order, generator);
    }

    // Inverse CDF over the sorted distribution. The draw is scaled by the row's total so a cumulative
    // sum that rounds to just under 1 cannot push the pick onto a filtered (zero-probability) token.
    private static long[] Draw(Tensor sorted, Tensor order, Generator generator)
    {
        long bsz = sorted.Size(0), v = sorted.Size(-1);
        var cdf = sorted.Softmax(-1).CumSum(-1);                                             // (B, V)
        var total = cdf.Narrow(-1, v - 1, 1);                                                // (B, 1)
        var u = new double[bsz];
        for (int b = 0; b < bsz; b++) u[b] = generator.NextDouble();
        using var uHost = Tensor.FromArray(u, bsz, 1);
        var threshold = uHost.To(cdf.DType, cdf.Device) * total;                             // (B, 1)
        var rank = cdf.Lt(threshold).Sum(-1, keepDim: true).Clamp(0, v - 1);                // (B, 1)
        return order.Gather(1, rank).ToArray<long>();
    }

    // transformers' RepetitionPenaltyLogitsProcessor: seen tokens' logits divided by the penalty when
    // positive, multiplied when negative. Each row's distinct ids are gathered, changed, and the change
    // scattered back; short rows are padded with id 0 and a zero change.
    private static Tensor RepetitionPenalty(Tensor scores, IReadOnlyList<List<int>> history, double penalty)
    {
        int bsz = history.Count;
        var distinct = history.Select(h => h.Distinct().ToArray()).ToArray();
        int width = Math.Max(1, distinct.Max(d => d.Length));
        var idx = new long[bsz * width];
        var valid = new double[bsz * width];
        for (int b = 0; b < bsz; b++)
            for (int i = 0; i < distinct[b].Length; i++)
            {
                idx[b * width + i] = distinct[b][i];
                valid[b * width + i] = 1;
            }
        using var idxHost = Tensor.FromArray(idx, bsz, width);
        using var validHost = Tensor.FromArray(valid, bsz, width);
        var index = idxHost.To(scores.Device);                                               // (B, M)
        var seen = scores.Gather(1, index);                                                  // (B, M)
        using var zero = Tensor.Scalar(0, seen.DType);
        var penalized = Tensor.Where(seen.Lt(zero), seen * penalty, seen / penalty);         // (B, M)
        var delta = (penalized - seen) * validHost.To(seen.DType, seen.Device);              // (B, M)
        return scores.ScatterAdd(1, index, delta);                                           // (B, V)
    }
}
