using MLNetLora.LibTorch;
using MLNetLora.Models.Quantization;

namespace MLNetLora.Tests.Quantization;

/// <summary>Double quantization of the NF4 scales: bitsandbytes' dynamic map and the 8-bit blockwise code.</summary>
public class Nf4DoubleQuantTests
{
    [Test]
    public void DynamicMap_Has256SortedValuesWithKnownEndpoints()
    {
        var m = DynamicQuantizationMap.Create();
        Assert.That(m, Has.Length.EqualTo(256));
        Assert.That(m, Is.Ordered.Ascending);
        Assert.That(m.Distinct().Count(), Is.EqualTo(256));
        // Largest magnitude below 1: the mean of the last two of linspace(0.1, 1, 65), (0.9859375 + 1)/2.
        Assert.That(m[0], Is.EqualTo(-0.99296875f).Within(1e-7f));
        Assert.That(m[255], Is.EqualTo(1f));
        Assert.That(m[127], Is.EqualTo(0f));
        // Smallest magnitude: 1e-6 · (0.1 + 1)/2.
        Assert.That(m[128], Is.EqualTo(5.5e-7f).Within(1e-12f));
        Assert.That(m[126], Is.EqualTo(-m[128]));
    }

    [Test]
    public void DynamicMap_MatchesTorchOps()
    {
        // create_dynamic_map's arithmetic replayed with libtorch's own CPU ops (linspace, add, div, mul
        // by a double scalar), i.e. what bitsandbytes runs when it builds the map.
        var data = new List<float>();
        for (int i = 0; i < 7; i++)
        {
            int items = (1 << i) + 1;
            using var scope = TensorScope.Begin();
            using var start = Tensor.Scalar(0.1);
            using var end = Tensor.Scalar(1.0);
            var b = Aten.Call("aten::linspace", "Tensor_Tensor", start, end, (long)items, AtenArg.Some(AtenArg.Of(DType.Float32)), AtenArg.None, AtenArg.None, AtenArg.None);
            var means = (b.Narrow(0, 0, items - 1) + b.Narrow(0, 1, items - 1)) / 2.0;
            double scale = i == 6 ? 1 : Math.Pow(10, i - 6);
            data.AddRange((means * scale).ToArray<float>());
            data.AddRange((means * -scale).ToArray<float>());
        }
        data.Add(0);
        data.Add(1);
        data.Sort();
        Assert.That(DynamicQuantizationMap.Create(), Is.EqualTo(data.ToArray()));
    }

    [Test]
    public void DynamicMap_MatchesReference() =>
        Assert.That(DynamicQuantizationMap.Create(), Is.EqualTo(Nf4Reference.Floats(Nf4Reference.Document["dynamic_map"]!)));

    [Test]
    public void DoubleQuant_AbsmaxWithinMapResolution()
    {
        var v = TestUtil.Random(600 * 64, 3).Select(d => (float)(0.02 * d)).ToArray();
        using var w = Tensor.FromArray(v, 600, 64);
        using var plain = Nf4Tensor.Quantize(w, 64, doubleQuant: false);
        using var dq = Nf4Tensor.Quantize(w, 64, doubleQuant: true);
        var exact = plain.Absmax!.ToArray<float>();
        using var decoded = dq.BlockAbsmax();
        var got = decoded.ToArray<float>();
        var nested = dq.NestedAbsmax!;
        Assert.That(nested.Codes.NumEl, Is.EqualTo(600));
        Assert.That(nested.Absmax2.NumEl, Is.EqualTo(3));
        Assert.That(nested.Offset, Is.EqualTo((float)exact.Select(x => (double)x).Average()));
        var map = DynamicQuantizationMap.Create();
        double halfGap = Enumerable.Range(0, 255).Max(k => (double)map[k + 1] - map[k]) / 2;
        var absmax2 = nested.Absmax2.ToArray<float>();
        double worst = 0;
        for (int k = 0; k < 600; k++)
        {
            double e = Math.Abs(got[k] - exact[k]);
            Assert.That(e, Is.LessThanOrEqualTo(halfGap * absmax2[k / 256] + 1e-7), $"scale {k}");
            worst = Math.Max(worst, e / exact[k]);
        }
        TestContext.Out.WriteLine($"worst relative scale error {worst:G4}; map half-gap {halfGap:G4}");
    }
}
