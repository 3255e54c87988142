using MLNetLora.LibTorch;
using MLNetLora.Models.Generation;
using MLNetLora.Models.Transformer;
using MLNetLora.Tests.Models;
using static MLNetLora.Tests.TestUtil;

namespace MLNetLora.Tests.Generation;

/// <summary>Cached decoding against the full forward on tiny float64 models of every architecture (LoRA on all linears).</summary>
public class IncrementalForwardTests
{
    private const double Tolerance = 1e-10;
    private const int B = 2, T = 10;
    private static readonly long[] Ids = [3, 7, 1, 9, 4, 11, 2, 2, 5, 8, 13, 6, 0, 36, 21, 17, 30, 12, 12, 1];   // (2, 10)

    private static double[] FullLogits(DecoderModel model, Tensor ids, Tensor? mask = null, Tensor? pos = null)
    {
        using var logits = model.ComputeLogits(ids, mask, pos);
        return logits.ToArray<double>();
    }

    // Logits of position t of every row from a (B, T, V) array.
    private static double[] At(double[] full, int t, int time, int v, int rows = B)
    {
        var r = new double[rows * v];
        for (int b = 0; b < rows; b++) Array.Copy(full, (b * time + t) * v, r, b * v, v);
        return r;
    }

    [TestCase(Architecture.Llama)]
    [TestCase(Architecture.Qwen2)]
    [TestCase(Architecture.Qwen3)]
    [TestCase(Architecture.Phi3)]
    public void ForwardIncremental_OneTokenPerStep_MatchesFullForward(Architecture arch)
    {
        using var model = TinyModels.Create(arch, seed: 11);
        using var ids = Tensor.FromArray(Ids, B, T);
        var full = FullLogits(model, ids);
        int v = model.Spec.VocabSize;
        using var cache = new KvCache(model, B, T);
        for (int t = 0; t < T; t++)
        {
            using var step = ids.Narrow(1, t, 1);
            using var logits = model.ForwardIncremental(step, cache);
            Assert.That(logits.Shape, Is.EqualTo(new long[] { B, v }));
            AssertClose(logits, At(full, t, T, v), Tolerance, $"{arch} step {t}");
        }
        Assert.That(cache.Length, Is.EqualTo(T));
    }

    [TestCase(Architecture.Llama)]
    [TestCase(Architecture.Qwen2)]
    [TestCase(Architecture.Qwen3)]
    [TestCase(Architecture.Phi3)]
    public void ForwardIncremental_PromptThenChunkThenSteps_MatchesFullForwardAtEveryPosition(Architecture arch)
    {
        using var model = TinyModels.Create(arch, seed: 12);
        using var ids = Tensor.FromArray(Ids, B, T);
        var full = FullLogits(model, ids);
        int v = model.Spec.VocabSize;
        using var cache = new KvCache(model, B, T);
        int start = 0;
        foreach (int len in new[] { 4, 3, 1, 2 })
        {
            using var chunk = ids.Narrow(1, start, len);
            using var logits = model.ForwardIncremental(chunk, cache, lastOnly: false);
            Assert.That(logits.Shape, Is.EqualTo(new long[] { B, len, v }));
            var got = logits.ToArray<double>();
            for (int i = 0; i < len; i++)
                AssertClose(At(got, i, len, v), At(full, start + i, T, v), Tolerance, $"{arch} position {start + i}");
            start += len;
        }
    }

    [TestCase(Architecture.Llama)]
    [TestCase(Architecture.Qwen2)]
    [TestCase(Architecture.Qwen3)]
    [TestCase(Architecture.Phi3)]
    public void ForwardIncremental_LeftPaddedBatch_MatchesEachRowAlone(Architecture arch)
    {
        using var model = TinyModels.Create(arch, seed: 13);
        int v = model.Spec.VocabSize;
        long[] rowA = [3, 7, 1, 9, 4, 11, 2, 5], rowB = [13, 6, 0];
        const int width = 8, extra = 3;
        long[] ids = [.. rowA, 2, 2, 2, 2, 2, .. rowB];
        long[] mask = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1];
        long[] pos = [0, 1, 2, 3, 4, 5, 6, 7, 1, 1, 1, 1, 1, 0, 1, 2];     // cumsum(mask) - 1, padding filled with 1
        long[] next = [30, 12, 12, 1, 20, 17];                                 // three steps of (B, 1)
        using var cache = new KvCache(model, 2, width + extra);
        var batched = new List<double[]>();
        using (var idsT = Tensor.FromArray(ids, 2, width))
        using (var maskT = Tensor.FromArray(mask, 2, width))
        using (var posT = Tensor.FromArray(pos, 2, width))
        using (var l = model.ForwardIncremental(idsT, cache, posT, maskT))
            batched.Add(l.ToArray<double>());
        for (int s = 0; s < extra; s++)
        {
            using var stepT = Tensor.FromArray(new[] { next[s], next[extra + s] }, 2, 1);
            using var posT = Tensor.FromArray(new long[] { rowA.Length + s, rowB.Length + s }, 2, 1);
            using var l = model.ForwardIncremental(stepT, cache, posT);
            batched.Add(l.ToArray<double>());
        }
        long[][] rows = [rowA, rowB];
        for (int b = 0; b < 2; b++)
        {
            long[] alone = [.. rows[b], .. next.Skip(b * extra).Take(extra)];
            using var aloneT = Tensor.FromArray(alone, 1, alone.Length);
            var full = FullLogits(model, aloneT);
            for (int s = 0; s <= extra; s++)
                AssertClose(batched[s].AsSpan(b * v, v), At(full, rows[b].Length - 1 + s, alone.Length, v, rows: 1), Tolerance, $"{arch} row {b} step {s}");
        }
    }

    [Test]
    public void ForwardIncremental_CacheFull_ThrowsWithCapacity()
    {
        using var model = TinyModels.Create(Architecture.Llama, seed: 14);
        using var cache = new KvCache(model, B, 4);
        using var ids = Tensor.FromArray(Ids, B, T);
        using var first = ids.Narrow(1, 0, 3);
        model.ForwardIncremental(first, cache).Dispose();
        using var more = ids.Narrow(1, 3, 2);
        var e = Assert.Throws<ArgumentException>(() => model.ForwardIncremental(more, cache));
        Assert.That(e!.Message, Does.Contain("3 of 4 positions"));
        Assert.That(cache.Length, Is.EqualTo(3), "a rejected call leaves the cache as it was");
    }

    [Test]
    public void ForwardIncremental_PositionBeyondTables_ThrowsNamingMaxPositions()
    {
        using var model = TinyModels.Create(Architecture.Qwen2, seed: 15);
        using var cache = new KvCache(model, 1, 4);
        using var ids = Tensor.FromArray(new long[] { 1, 2 }, 1, 2);
        using var pos = Tensor.FromArray(new long[] { 63, 64 }, 1, 2);
        var e = Assert.Throws<ArgumentException>(() => model.ForwardIncremental(ids, cache, pos));
        Assert.That(e!.Message, Does.Contain("Position 64").And.Contain("64 positions"));
        Assert.That(cache.Length, Is.Zero);
    }

    [Test]
    public void ForwardIncremental_CacheOfOtherBatchSize_Throws()
    {
        using var model = TinyModels.Create(Architecture.Llama, seed: 16);
        using var cache = new KvCache(model, 3, 4);
        using var ids = Tensor.FromArray(new long[] { 1, 2 }, 2, 1);
        Assert.Throws<ArgumentException>(() => model.ForwardIncremental(ids, cache));
    }

    [Test]
    public void KvCache_Reset_ReusesMemoryForANewSequence()
    {
        using var model = TinyModels.Create(Architecture.Phi3, seed: 17);
        using var ids = Tensor.FromArray(Ids, B, T);
        using var cache = new KvCache(model, B, T);
        using (var chunk = ids.Narrow(1, 5, 5)) model.ForwardIncremental(chunk, cache).Dispose();
        cache.Reset();
        Assert.That(cache.Length, Is.Zero);
        using var again = model.ForwardIncremental(ids, cache);
        var full = FullLogits(model, ids);
        AssertClose(again, At(full, T - 1, T, model.Spec.VocabSize), Tolerance, "after reset");
        using var k = cache.Keys(0);
        Assert.That(k.Shape, Is.EqualTo(new long[] { B, model.Spec.NumKvHeads, T, model.Spec.HeadDim }));
    }
}
