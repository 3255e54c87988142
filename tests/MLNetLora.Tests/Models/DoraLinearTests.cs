using System.Text.Json.Nodes;
using MLNetLora.LibTorch;
using MLNetLora.Models.Lora;
using static MLNetLora.Tests.TestUtil;

namespace MLNetLora.Tests.Models;

/// <summary>
/// DoRA on one <see cref="LoraLinear"/> (float64): the hand-written backward against finite differences
/// with the weight norm held constant, and forward, gradients and merge against PEFT's code path run
/// with torch autograd (tests/fixtures/dora, made by make_reference.py).
/// </summary>
public class DoraLinearTests
{
    private const int In = 4, Out = 5, Rank = 3;
    private const double Scale = 2.0;

    private static (LoraLinear Lin, LoraAdapter Adapter) Layer(double dropout)
    {
        using var w = Tensor.FromArray(Random(Out * In, 6), Out, In);
        using var bias = Tensor.FromArray(Random(Out, 7), Out);
        var adapter = new LoraAdapter("m", In, Out, Rank, Scale, DType.Float64, Device.Cpu, useDora: true);
        using (var a = Tensor.FromArray(Random(Rank * In, 8), Rank, In)) adapter.A.CopyFrom(a);
        using (var b = Tensor.FromArray(Random(Out * Rank, 9), Out, Rank)) adapter.B.CopyFrom(b);
        adapter.InitMagnitude(w);
        // Away from the init so that g = m / norm is not 1 and every term of the backward matters.
        using (var jitter = Tensor.FromArray(Random(Out, 10).Select(v => 1 + 0.2 * v).ToArray(), Out)) adapter.Magnitude!.Mul_(jitter);
        return (new LoraLinear("m", w.Alias(), bias.Alias(), adapter, dropout), adapter);
    }

    // ‖W + scale·B·A‖ per output row, written out here rather than taken from LoraAdapter.WeightNorm.
    private static double[] RowNorms(Tensor w, LoraAdapter adapter)
    {
        using var s = TensorScope.Begin();
        var v = (w + adapter.B.Mm(adapter.A) * adapter.Scale).ToArray<double>();
        int cols = (int)w.Size(1);
        return Enumerable.Range(0, (int)w.Size(0)).Select(r => Math.Sqrt(v.Skip(r * cols).Take(cols).Sum(e => e * e))).ToArray();
    }

    [TestCase(0.0)]
    [TestCase(0.3)]
    public void Backward_MatchesFiniteDifferences_WithTheNormDetached(double dropout)
    {
        var (lin, adapter) = Layer(dropout);
        using var _a = adapter;
        using var x = Tensor.FromArray(Random(2 * 3 * In, 11), 2, 3, In);
        using var g = Tensor.FromArray(Random(2 * 3 * Out, 12), 2, 3, Out);
        var saved = new LoraLinear.Saved();
        using var y = lin.Forward(x, saved, new Generator(99));
        using var dx = lin.Backward(g, saved)!;
        foreach (var t in saved.Tensors()) t.Dispose();
        double Loss()
        {
            using var s = TensorScope.Begin();
            return (lin.Forward(x, null, new Generator(99)) * g).Sum().ToDouble();
        }
        // m and x do not enter the norm, so the plain loss checks them.
        GradCheck.AssertMatches(x, dx, Loss, Enumerable.Range(0, 2 * 3 * In), "dx");
        GradCheck.AssertMatches(adapter.Magnitude!, adapter.GradMagnitude!, Loss, Enumerable.Range(0, Out), "dm");
        // A and B do: a constant norm is emulated by rescaling m with each perturbation so that m / norm stays put.
        var m0 = adapter.Magnitude!.ToArray<double>();
        var norm0 = RowNorms(lin.Weight, adapter);
        double FrozenNormLoss()
        {
            var norm = RowNorms(lin.Weight, adapter);
            using (var m = Tensor.FromArray(m0.Select((v, i) => v * norm[i] / norm0[i]).ToArray(), Out)) adapter.Magnitude!.CopyFrom(m);
            double loss = Loss();
            using (var m = Tensor.FromArray(m0, Out)) adapter.Magnitude!.CopyFrom(m);
            return loss;
        }
        GradCheck.AssertMatches(adapter.A, adapter.GradA, FrozenNormLoss, Enumerable.Range(0, Rank * In), "dA");
        GradCheck.AssertMatches(adapter.B, adapter.GradB, FrozenNormLoss, Enumerable.Range(0, Out * Rank), "dB");
        // The emulation matters: with the norm differentiated the gradient of B would be another one.
        double full = FiniteDifference(adapter.B, 0, Loss), detached = FiniteDifference(adapter.B, 0, FrozenNormLoss);
        Assert.That(Math.Abs(full - detached), Is.GreaterThan(1e-4), "the norm's own gradient is not negligible here");
        lin.Dispose();
    }

    [TestCase("eval")]
    [TestCase("dropout")]
    public void ForwardBackward_MatchPeftsDoraWithAutograd(string name)
    {
        var r = Reference();
        int n = r["in_features"]!.GetValue<int>(), o = r["out_features"]!.GetValue<int>(), rank = r["rank"]!.GetValue<int>();
        long[] xShape = r["x_shape"]!.AsArray().Select(v => v!.GetValue<long>()).ToArray();
        long[] yShape = [.. xShape[..^1], o];
        var c = r["cases"]![name]!;
        bool dropout = name == "dropout";
        using var adapter = new LoraAdapter("m", n, o, rank, r["scale"]!.GetValue<double>(), DType.Float64, Device.Cpu, useDora: true);
        using (var t = Tensor.FromArray(Values(r["lora_A"]), rank, n)) adapter.A.CopyFrom(t);
        using (var t = Tensor.FromArray(Values(r["lora_B"]), o, rank)) adapter.B.CopyFrom(t);
        using (var t = Tensor.FromArray(Values(r["magnitude"]), o)) adapter.Magnitude!.CopyFrom(t);
        var lin = new LoraLinear("m", Tensor.FromArray(Values(r["weight"]), o, n), Tensor.FromArray(Values(r["bias"]), o), adapter,
            r["dropout"]!.GetValue<double>());
        using var x = Tensor.FromArray(Values(r["x"]), xShape);
        using var dy = Tensor.FromArray(Values(r["dy"]), yShape);
        var saved = new LoraLinear.Saved();
        using var y = lin.Forward(x, saved, dropout ? new Generator(r["dropout_seed"]!.GetValue<ulong>()) : null);
        if (dropout)
            Assert.That(saved.DropMask!.ToArray<double>(), Is.EqualTo(Values(r["dropout_mask"])), "Generator(99) draws torch.rand's mask");
        using var dx = lin.Backward(dy, saved)!;
        foreach (var t in saved.Tensors()) t.Dispose();
        AssertClose(y, Values(c["y"]), 1e-10, "y");
        AssertClose(adapter.GradMagnitude!, Values(c["dm"]), 1e-10, "dm");
        AssertClose(adapter.GradA, Values(c["dA"]), 1e-10, "dA");
        AssertClose(adapter.GradB, Values(c["dB"]), 1e-10, "dB");
        AssertClose(dx, Values(c["dx"]), 1e-10, "dx");
        lin.Dispose();
    }

    [Test]
    public void MergedWeight_MatchesPeftsMerge()
    {
        var r = Reference();
        int n = r["in_features"]!.GetValue<int>(), o = r["out_features"]!.GetValue<int>(), rank = r["rank"]!.GetValue<int>();
        using var adapter = new LoraAdapter("m", n, o, rank, r["scale"]!.GetValue<double>(), DType.Float64, Device.Cpu, useDora: true);
        using (var t = Tensor.FromArray(Values(r["lora_A"]), rank, n)) adapter.A.CopyFrom(t);
        using (var t = Tensor.FromArray(Values(r["lora_B"]), o, rank)) adapter.B.CopyFrom(t);
        using (var t = Tensor.FromArray(Values(r["magnitude"]), o)) adapter.Magnitude!.CopyFrom(t);
        using var w = Tensor.FromArray(Values(r["weight"]), o, n);
        using var merged = adapter.MergedWeight(w);
        AssertClose(merged, Values(r["merged_weight"]), 1e-12, "merged W");
    }

    [Test]
    public void Merge_EqualsTheUnmergedForward()
    {
        var (lin, adapter) = Layer(0.3);
        using var _a = adapter;
        using var x = Tensor.FromArray(Random(2 * 3 * In, 13), 2, 3, In);
        using var unmerged = lin.Forward(x);                                 // no generator: evaluation, no dropout
        lin.Merge();
        using var merged = lin.Forward(x);
        AssertClose(merged, unmerged.ToArray<double>(), 1e-12, "merged vs unmerged");
        lin.Dispose();
    }

    [Test]
    public void InitMagnitude_StartsAsTheBaseLayer()
    {
        using var w = Tensor.FromArray(Random(Out * In, 14), Out, In);
        using var bias = Tensor.FromArray(Random(Out, 15), Out);
        using var adapter = new LoraAdapter("m", In, Out, Rank, Scale, DType.Float64, Device.Cpu, useDora: true);
        adapter.ResetParameters(new Generator(1));
        adapter.InitMagnitude(w);
        Assert.That(adapter.Magnitude!.ToArray<double>(), Is.EqualTo(RowNorms(w, adapter)).Within(1e-14), "B = 0, so m = ‖W‖_row");
        var lin = new LoraLinear("m", w.Alias(), bias.Alias(), adapter);
        using var x = Tensor.FromArray(Random(3 * In, 16), 3, In);
        using var y = lin.Forward(x);
        using var plain = x.Linear(w, bias);
        AssertClose(y, plain.ToArray<double>(), 1e-14, "DoRA at init");
        lin.Dispose();
    }

    private static double FiniteDifference(Tensor param, int index, Func<double> loss, double h = 1e-5)
    {
        var values = param.ToArray<double>();
        double orig = values[index];
        double At(double v)
        {
            values[index] = v;
            using (var t = Tensor.FromArray(values, param.Shape)) param.CopyFrom(t);
            return loss();
        }
        double d = (At(orig + h) - At(orig - h)) / (2 * h);
        At(orig);
        return d;
    }

    private static JsonNode Reference() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "dora", "dora_linear.json")))!;

    private static double[] Values(JsonNode? node) => node!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
}
