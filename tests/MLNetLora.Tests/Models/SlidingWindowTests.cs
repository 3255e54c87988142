using MLNetLora.LibTorch;
using MLNetLora.Models.Generation;
using MLNetLora.Models.Transformer;

namespace MLNetLora.Tests.Models;

/// <summary>
/// Sliding-window attention (Mistral's 4096, Phi-3's 2047, Qwen's sliding layers): a query sees the
/// keys 0 <= i - j < w, as transformers' sliding-window mask. It matters only past the window; the
/// references are the unwindowed model on the window's own tokens (one layer, so exact) and the
/// KV-cached generation path.
/// </summary>
public class SlidingWindowTests
{
    private const int Window = 4;

    private static DecoderModel Create(int? window, int layers)
    {
        var spec = TinyModels.Spec(Architecture.Mistral, layers: layers) with { LayerWindows = Enumerable.Repeat(window, layers).ToArray() };
        var weights = TinyModels.Weights(spec, 5);
        var model = DecoderModel.Create(spec, new DictionaryWeightSource(weights), DType.Float64, Device.Cpu);
        foreach (var t in weights.Values) t.Dispose();
        return model;
    }

    private static readonly long[] Ids = [3, 17, 5, 29, 11, 2, 31, 7, 19, 23];

    private static double[] Logits(DecoderModel m, long[] ids, long[]? positions = null)
    {
        using var t = Tensor.FromArray(ids, 1, ids.Length);
        using var p = positions is null ? null : Tensor.FromArray(positions, 1, positions.Length);
        using var l = m.ComputeLogits(t, positionIds: p);
        return l.ToArray<double>();
    }

    [Test]
    public void Forward_SequenceWithinTheWindow_EqualsFullAttention()
    {
        using var windowed = Create(Window, 2);
        using var full = Create(null, 2);
        Assert.That(Logits(windowed, Ids[..Window]), Is.EqualTo(Logits(full, Ids[..Window])).Within(1e-12));
    }

    [Test]
    public void Forward_PastTheWindow_EachPositionSeesOnlyTheLastWTokens()
    {
        using var windowed = Create(Window, 1);
        using var full = Create(null, 1);
        int v = 37;
        double[] got = Logits(windowed, Ids), unwindowed = Logits(full, Ids);
        for (int i = 0; i < Ids.Length; i++)
        {
            int start = Math.Max(0, i - Window + 1);
            long[] context = Ids[start..(i + 1)], positions = Enumerable.Range(start, i - start + 1).Select(p => (long)p).ToArray();
            double[] reference = Logits(full, context, positions)[^v..];
            Assert.That(got.AsSpan(i * v, v).ToArray(), Is.EqualTo(reference).Within(1e-10), $"position {i}");
        }
        Assert.That(got.AsSpan(0, Window * v).ToArray(), Is.EqualTo(unwindowed.AsSpan(0, Window * v).ToArray()).Within(1e-12), "inside the window nothing changes");
        Assert.That(got.AsSpan(Window * v).ToArray(), Is.Not.EqualTo(unwindowed.AsSpan(Window * v).ToArray()).Within(1e-6), "past it the window matters");
    }

    [Test]
    public void CachedGeneration_PastTheWindow_EqualsTheFullForward()
    {
        using var model = Create(Window, 2);
        double[] full = Logits(model, Ids);
        using var cache = new KvCache(model, 1, Ids.Length);
        int v = 37;
        using (var prompt = Tensor.FromArray(Ids[..3], 1, 3))
        using (var first = model.ForwardIncremental(prompt, cache))
            Assert.That(first.ToArray<double>(), Is.EqualTo(full.AsSpan(2 * v, v).ToArray()).Within(1e-10));
        for (int i = 3; i < Ids.Length; i++)
        {
            using var one = Tensor.FromArray(new[] { Ids[i] }, 1, 1);
            using var logits = model.ForwardIncremental(one, cache);
            Assert.That(logits.ToArray<double>(), Is.EqualTo(full.AsSpan(i * v, v).ToArray()).Within(1e-10), $"step at position {i}");
        }
    }
}
