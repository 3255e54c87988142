using MLNetLora.LibTorch;
using MLNetLora.Models.Generation;

namespace MLNetLora.Models.Transformer;

public sealed partial class DecoderLayer
{
    /// <summary>
    /// Inference forward over <c>T</c> new tokens that attends to the cached past as well: the new
    /// keys and values are written into <paramref name="cache"/> and attention runs over all S = past + T
    /// of them. The math is <see cref="Forward"/>'s, without dropout or saved activations.
    /// </summary>
    /// <param name="x">Residual stream of the new tokens (B, T, C).</param>
    /// <param name="ctx">Rope tables of the new positions (B, 1, T, R) and the additive mask (B, 1, T, S) or null; <c>Causal</c> only when there is no past.</param>
    /// <param name="cache">The cache; this layer's slots Length..Length+T-1 are written, Length is not advanced.</param>
    /// <returns>The layer output (B, T, C).</returns>
    /// <exception cref="ArgumentException">The cache was built for a different layout or has no room for T tokens.</exception>
    /// <exception cref="TorchException">A kernel rejected the inputs.</exception>
    public Tensor ForwardCached(Tensor x, Context ctx, KvCache cache)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(cache);
        long bsz = x.Size(0), t = x.Size(1);
        int h = spec.NumHeads, kv = spec.NumKvHeads, d = spec.HeadDim;
        if (cache.NumLayers <= Index || cache.NumKvHeads != kv || cache.HeadDim != d || cache.BatchSize != bsz)
            throw new ArgumentException($"The KV cache holds {cache.NumLayers} layers of {cache.BatchSize}x{cache.NumKvHeads} heads of width {cache.HeadDim}; " +
                $"layer {Index} needs {bsz}x{kv} heads of width {d}. Create the cache from this model with the batch size of the input.", nameof(cache));
        if (t > cache.Remaining)
            throw new ArgumentException($"The KV cache has room for {cache.Remaining} more positions but {t} were given; create it with a larger capacity.", nameof(cache));
        using var scope = TensorScope.Begin();

        var xn1 = RmsNorm.Forward(x, InputNorm, spec.RmsNormEps, out _);               // (B, T, C)
        var (q, k, v) = ProjectQkv(xn1, null, null);                                   // (B, T, h*D), (B, T, kv*D) x2
        var q4 = q.View(bsz, t, h, d);                                                 // (B, T, H, D)
        var k4 = k.View(bsz, t, kv, d);                                                // (B, T, KV, D)
        if (QNorm is not null && KNorm is not null)
        {
            q4 = RmsNorm.Forward(q4, QNorm, spec.RmsNormEps, out _);
            k4 = RmsNorm.Forward(k4, KNorm, spec.RmsNormEps, out _);
        }
        var qh = RotaryEmbedding.Apply(q4.Transpose(1, 2), ctx.Cos, ctx.Sin);         // (B, H, T, D)
        var kh = RotaryEmbedding.Apply(k4.Transpose(1, 2), ctx.Cos, ctx.Sin);         // (B, KV, T, D)
        var vh = v.View(bsz, t, kv, d).Transpose(1, 2);                                // (B, KV, T, D)
        var (kAll, vAll) = cache.Write(Index, kh, vh);                                 // (B, KV, S, D) views
        var att = AttendCached(qh, kAll, vAll, ctx, bsz, t);                           // (B, T, H*D)
        var x2 = x + OutputProjection.Forward(att);                                    // (B, T, C)

        var xn2 = RmsNorm.Forward(x2, PostAttentionNorm, spec.RmsNormEps, out _);      // (B, T, C)
        var (g, u) = ProjectGateUp(xn2, null, null);                                   // (B, T, I) x2
        var y = x2 + DownProjection.Forward(g.Silu() * u);                             // (B, T, C)
        return scope.Keep(y);
    }

    private Tensor AttendCached(Tensor qh, Tensor kAll, Tensor vAll, Context ctx, long bsz, long t)
    {
        int h = spec.NumHeads, kv = spec.NumKvHeads, d = spec.HeadDim, groups = spec.KvGroups;
        if (t == 1 && kv != h)
        {
            // A single new query attends to every cached key, so the G query heads sharing a KV head can
            // stand in for G query rows of that head: no per-step copy of the repeated cache. Head
            // h = kvHead·G + g, which is the order RepeatInterleave gives the full forward.
            var qg = qh.Reshape(bsz, kv, groups, d);                                   // (B, KV, G, D)
            using var grouped = Attention.Forward(qg, kAll, vAll, causal: false, ctx.AttentionMask);  // out (B, KV, G, D)
            return grouped.Output.Reshape(bsz, 1, h * d);                              // (B, 1, H*D)
        }
        Tensor kr = kAll, vr = vAll;
        if (kv != h)
        {
            kr = kAll.RepeatInterleave(groups, 1);                                     // (B, H, S, D)
            vr = vAll.RepeatInterleave(groups, 1);                                     // (B, H, S, D)
        }
        using var attn = Attention.Forward(qh, kr, vr, ctx.Causal, ctx.AttentionMask); // out (B, H, T, D)
        return attn.Output.Transpose(1, 2).Reshape(bsz, t, h * d);                     // (B, T, H*D)
    }
}
