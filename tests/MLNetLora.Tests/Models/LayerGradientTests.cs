using MLNetLora.LibTorch;
using MLNetLora.Models.Lora;
using MLNetLora.Models.Transformer;
using static MLNetLora.Tests.TestUtil;

namespace MLNetLora.Tests.Models;

public class LayerGradientTests
{
    [Test]
    public void RmsNormBackward_MatchesFiniteDifferences()
    {
        using var x = Tensor.FromArray(Random(2 * 3 * 5, 1), 2, 3, 5);
        using var w = Tensor.FromArray(Random(5, 2), 5);
        using var g = Tensor.FromArray(Random(2 * 3 * 5, 3), 2, 3, 5);
        using var y = RmsNorm.Forward(x, w, 1e-5, out var rstd);
        using var _r = rstd;
        using var dx = RmsNorm.Backward(g, x, w, rstd);
        double Loss()
        {
            using var s = TensorScope.Begin();
            return (RmsNorm.Forward(x, w, 1e-5, out _) * g).Sum().ToDouble();
        }
        GradCheck.AssertMatches(x, dx, Loss, Enumerable.Range(0, 30), "dx");
    }

    [Test]
    public void RopeBackward_MatchesFiniteDifferences_FullAndPartial()
    {
        foreach (int rotary in new[] { 6, 4 })
        {
            var inv = Enumerable.Range(0, rotary / 2).Select(i => 1.0 / Math.Pow(100, 2.0 * i / rotary)).ToArray();
            using var rope = new RotaryEmbedding(inv, 1.0, 16, DType.Float64, Device.Cpu);
            using var pos = Tensor.FromArray(new long[] { 0, 3, 7, 2, 5, 9 }, 2, 3);
            var (cos, sin) = rope.Lookup(pos);
            using var _c = cos; using var _s = sin;
            using var x = Tensor.FromArray(Random(2 * 2 * 3 * 6, 4), 2, 2, 3, 6);
            using var g = Tensor.FromArray(Random(2 * 2 * 3 * 6, 5), 2, 2, 3, 6);
            using var dx = RotaryEmbedding.Backward(g, cos, sin);
            double Loss()
            {
                using var s = TensorScope.Begin();
                return (RotaryEmbedding.Apply(x, cos, sin) * g).Sum().ToDouble();
            }
            GradCheck.AssertMatches(x, dx, Loss, Enumerable.Range(0, 72), $"rope(r={rotary}) dx");
        }
    }

    [Test]
    public void RotaryEmbedding_RotatesPairsByPositionAngle()
    {
        var inv = new[] { 1.0, 0.1 };
        using var rope = new RotaryEmbedding(inv, 1.0, 8, DType.Float64, Device.Cpu);
        using var pos = Tensor.FromArray(new long[] { 3 }, 1, 1);
        var (cos, sin) = rope.Lookup(pos);
        using var _c = cos; using var _s = sin;
        using var x = Tensor.FromArray(new double[] { 1, 2, 3, 4 }, 1, 1, 1, 4);   // pairs (1,3) and (2,4)
        using var y = RotaryEmbedding.Apply(x, cos, sin);
        double a0 = (float)(3 * 1.0), a1 = (float)(float)(0.1f * 3f);
        var expected = new[]
        {
            1 * Math.Cos(a0) - 3 * Math.Sin(a0), 2 * Math.Cos(a1) - 4 * Math.Sin(a1),
            3 * Math.Cos(a0) + 1 * Math.Sin(a0), 4 * Math.Cos(a1) + 2 * Math.Sin(a1),
        };
        AssertClose(y, expected, 1e-6);
    }

    [TestCase(0.0)]
    [TestCase(0.3)]
    public void LoraLinearBackward_MatchesFiniteDifferences(double dropout)
    {
        using var w = Tensor.FromArray(Random(5 * 4, 6), 5, 4);
        using var bias = Tensor.FromArray(Random(5, 7), 5);
        using var adapter = new LoraAdapter("m", 4, 5, 3, 2.0, DType.Float64, Device.Cpu);
        using (var a = Tensor.FromArray(Random(12, 8), 3, 4)) adapter.A.CopyFrom(a);
        using (var b = Tensor.FromArray(Random(15, 9), 5, 3)) adapter.B.CopyFrom(b);
        var lin = new LoraLinear("m", w.Alias(), bias.Alias(), adapter, dropout);
        using var x = Tensor.FromArray(Random(2 * 3 * 4, 10), 2, 3, 4);
        using var g = Tensor.FromArray(Random(2 * 3 * 5, 11), 2, 3, 5);
        var saved = new LoraLinear.Saved();
        using var y = lin.Forward(x, saved, new Generator(99));
        using var dx = lin.Backward(g, saved)!;
        double Loss()
        {
            using var s = TensorScope.Begin();
            return (lin.Forward(x, null, new Generator(99)) * g).Sum().ToDouble();
        }
        GradCheck.AssertMatches(x, dx, Loss, Enumerable.Range(0, 24), "dx");
        GradCheck.AssertMatches(adapter.A, adapter.GradA, Loss, Enumerable.Range(0, 12), "dA");
        GradCheck.AssertMatches(adapter.B, adapter.GradB, Loss, Enumerable.Range(0, 15), "dB");
        lin.Dispose();
    }

    [Test]
    public void CrossEntropyBackward_MatchesFiniteDifferences_WithIgnoredTargets()
    {
        using var logits = Tensor.FromArray(Random(4 * 6, 12), 4, 6);
        var targets = new long[] { 2, CrossEntropy.IgnoreIndex, 5, 0 };
        var (loss, d) = CrossEntropy.Compute(logits, targets, 3, withGrad: true);
        using var _d = d;
        GradCheck.AssertMatches(logits, d!, () => CrossEntropy.Compute(logits, targets, 3, false).Loss, Enumerable.Range(0, 24), "dlogits");
        var row1 = d!.ToArray<double>().Skip(6).Take(6);
        Assert.That(row1, Is.All.EqualTo(0.0), "an ignored target has no gradient");
        Assert.That(loss, Is.GreaterThan(0));
    }

    [TestCase(Architecture.Llama)]
    [TestCase(Architecture.Qwen3)]
    [TestCase(Architecture.Phi3)]
    public void DecoderLayerBackward_MatchesFiniteDifferences(Architecture arch)
    {
        using var model = TinyModels.Create(arch, seed: 3, layers: 1);
        var layer = model.Layers[0];
        using var x = Tensor.FromArray(Random(2 * 5 * 16, 13), 2, 5, 16);
        using var g = Tensor.FromArray(Random(2 * 5 * 16, 14), 2, 5, 16);
        using var pos = Tensor.Arange(5).Unsqueeze(0).Expand(2, 5);
        var (cos, sin) = model.Rope.Lookup(pos);
        using var _c = cos; using var _s = sin;
        var ctx = new DecoderLayer.Context(cos, sin, null, true, null);
        var saved = new DecoderLayer.Saved();
        model.ZeroGrad();
        using var y = layer.Forward(x, ctx, saved);
        using var dx = layer.Backward(g, ctx, saved);
        foreach (var t in saved.Tensors()) t.Dispose();
        double Loss()
        {
            using var s = TensorScope.Begin();
            return (layer.Forward(x, ctx, null) * g).Sum().ToDouble();
        }
        GradCheck.AssertMatches(x, dx, Loss, GradCheck.Sample(160, 20, 1), "dx");
        foreach (var a in model.Adapters.Values)
        {
            GradCheck.AssertMatches(a.A, a.GradA, Loss, GradCheck.Sample(a.A.NumEl, 4, 2), a.Name + ".A");
            GradCheck.AssertMatches(a.B, a.GradB, Loss, GradCheck.Sample(a.B.NumEl, 4, 3), a.Name + ".B");
        }
    }
}
