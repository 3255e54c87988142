using MLNetLora.LibTorch;
using MLNetLora.Models.Generation;

namespace MLNetLora.Models.Transformer;

public sealed partial class DecoderLayer
{
    private void CheckCache(KvCache cache, Tensor x, Saved? saved)
    {
        if (saved is not null)
            throw new ArgumentException("A cached forward is for inference: it keeps no activations for backward, so pass saved: null.", nameof(saved));
        long bsz = x.Size(0), t = x.Size(1);
        int kv = spec.NumKvHeads, d = spec.HeadDim;
        if (cache.NumLayers <= Index || cache.NumKvHeads != kv || cache.HeadDim != d || cache.BatchSize != bsz)
            throw new ArgumentException($"The KV cache holds {cache.NumLayers} layers of {cache.BatchSize}x{cache.NumKvHeads} heads of width {cache.HeadDim}; " +
                $"layer {Index} needs {bsz}x{kv} heads of width {d}. Create the cache from this model with the batch size of the input.", nameof(cache));
        if (t > cache.Remaining)
            throw new ArgumentException($"The KV cache has room for {cache.Remaining} more positions but {t} were given; create it with a larger capacity.", nameof(cache));
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
