using MLNetLora.LibTorch;
using MLNetLora.Models.Generation;

namespace MLNetLora.Models.Transformer;

public sealed partial class DecoderModel
{
    /// <summary>
    /// Runs <c>T</c> new tokens through the model on top of what <paramref name="cache"/> already holds,
    /// writes their keys and values into it and advances it. Feeding a sequence in pieces (a prompt,
    /// then one token at a time) gives the logits <see cref="ComputeLogits"/> gives for the whole sequence.
    /// </summary>
    /// <param name="inputIds">New token ids (B, T), int64.</param>
    /// <param name="cache">A cache made for this model with batch size B; it must have room for T more positions.</param>
    /// <param name="positionIds">Positions of the new tokens (B, T); <c>Length..Length+T-1</c> of the cache when null.</param>
    /// <param name="attentionMask">1 for real tokens, 0 for padding, for the new tokens only (B, T); null when all are real.
    /// The cache remembers it, so later steps keep ignoring padded keys.</param>
    /// <param name="lastOnly">Return logits of the last new position only (B, V) rather than of every new position (B, T, V).</param>
    /// <returns>Logits (B, V) or (B, T, V) in the compute dtype; the caller disposes them.</returns>
    /// <exception cref="ArgumentException">Shapes disagree with the cache, the cache is full, or a position is beyond
    /// the position tables (<see cref="DecoderSpec.MaxPositions"/>).</exception>
    /// <exception cref="TorchException">A kernel rejected the inputs.</exception>
    public Tensor ForwardIncremental(Tensor inputIds, KvCache cache, Tensor? positionIds = null, Tensor? attentionMask = null,
        bool lastOnly = true)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(cache);
        if (inputIds.Rank != 2) throw new ArgumentException($"inputIds must be (B, T); got {inputIds.Describe()}.", nameof(inputIds));
        int bsz = (int)inputIds.Size(0), t = (int)inputIds.Size(1);
        if (cache.BatchSize != bsz || cache.NumLayers != Layers.Count)
            throw new ArgumentException($"The KV cache was made for batch {cache.BatchSize} and {cache.NumLayers} layers; this call has batch {bsz} " +
                $"and the model {Layers.Count} layers.", nameof(cache));
        if (t < 1) throw new ArgumentException("inputIds has no tokens.", nameof(inputIds));
        if (t > cache.Remaining)
            throw new ArgumentException($"The KV cache holds {cache.Length} of {cache.Capacity} positions and cannot take {t} more; " +
                "create it with a capacity of at least prompt length + new tokens.", nameof(cache));
        long[] positions = positionIds?.ToArray<long>() ?? DefaultPositions(bsz, t, cache.Length);
        if (positions.Length != bsz * t)
            throw new ArgumentException($"positionIds must be (B, T) = ({bsz}, {t}); got {positionIds!.Describe()}.", nameof(positionIds));
        CheckPositions(positions);
        long[]? newMask = attentionMask?.ToArray<long>();
        if (newMask is not null && newMask.Length != bsz * t)
            throw new ArgumentException($"attentionMask must cover the new tokens only, (B, T) = ({bsz}, {t}); got {attentionMask!.Describe()}.", nameof(attentionMask));

        using var scope = TensorScope.Begin();
        var ids = inputIds.Device == Device ? inputIds : inputIds.To(Device);
        using var posHost = Tensor.FromArray(positions, bsz, t);
        var (cos, sin) = Rope.Lookup(posHost.To(Device));                                 // (B, 1, T, R)
        cache.StageMask(newMask, t);
        var (mask, causal) = CachedAttentionMask(cache, t, null);                         // (B, 1, T, S) or null
        var ctx = new DecoderLayer.Context(cos, sin, mask, causal, null);
        var windowed = new Dictionary<int, DecoderLayer.Context>();
        foreach (int w in Spec.LayerWindows.OfType<int>().Distinct().Where(w => cache.Length + t > w))
        {
            var (wm, _) = CachedAttentionMask(cache, t, w);                               // (B, 1, T, S)
            windowed[w] = ctx with { AttentionMask = wm, Causal = false };
        }

        var x = Embedding.Embedding(ids);                                                 // (B, T, C)
        for (int l = 0; l < Layers.Count; l++)
        {
            using var layerScope = TensorScope.Begin();
            var layerCtx = l < Spec.LayerWindows.Count && Spec.LayerWindows[l] is int lw && windowed.TryGetValue(lw, out var wc) ? wc : ctx;
            x = layerScope.Keep(Layers[l].Forward(x, layerCtx, null, cache));             // (B, T, C)
        }
        cache.Commit(t);
        if (lastOnly) x = x.Narrow(1, t - 1, 1);                                          // (B, 1, C)
        var hidden = RmsNorm.Forward(x, FinalNorm, Spec.RmsNormEps, out _);              // (B, T', C)
        var logits = LmHead.Forward(hidden);                                              // (B, T', V)
        if (lastOnly) logits = logits.View(bsz, Spec.VocabSize);                          // (B, V)
        return scope.Keep(logits);
    }

    private static long[] DefaultPositions(int bsz, int t, int past)
    {
        var p = new long[bsz * t];
        for (int b = 0; b < bsz; b++)
            for (int i = 0; i < t; i++) p[b * t + i] = past + i;
        return p;
    }

    // Rope lookups past the table would fail inside libtorch with an index error that names no model.
    private void CheckPositions(long[] positionIds)
    {
        foreach (long p in positionIds)
            if (p < 0 || p >= Rope.MaxPositions)
                throw new ArgumentException($"Position {p} is outside the {Rope.MaxPositions} positions this model supports " +
                    $"(max_position_embeddings); shorten the prompt or generate fewer tokens.", nameof(positionIds));
    }

    // With no padding the flash kernel's own causal flag is used for a fresh prompt (as the full forward
    // does) and no mask at all for one new token (it may see every cached key). Otherwise an explicit
    // mask: the kernel's causal flag aligns the triangle top-left, which is wrong once a past exists.
    private (Tensor? Mask, bool Causal) CachedAttentionMask(KvCache cache, int t, int? window)
    {
        int s = cache.Length + t;
        if (window is null && !cache.HasPadding(s))
        {
            if (cache.Length == 0) return (null, t > 1);
            if (t == 1) return (null, false);
        }
        using var host = Tensor.FromArray(cache.BuildMask(t, window), cache.BatchSize, 1, t, s);
        return (host.To(ComputeDType, Device), false);
    }
}
