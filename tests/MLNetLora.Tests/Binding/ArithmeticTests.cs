using MLNetLora.LibTorch;
using static MLNetLora.Tests.TestUtil;

namespace MLNetLora.Tests.Binding;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Available))]
public class ArithmeticTests(string device) : DeviceFixture(device)
{
    [Test]
    public void AddSub_Int64Tensors_AreExactIntegers()
    {
        using var a = Tensor.FromArray(new long[] { 1, -2, 3_000_000_000_000 });
        using var b = Tensor.FromArray(new long[] { 10, 20, 5 });
        using var sum = a + b;
        using var diff = a.Sub(b, 2);
        Assert.That(sum.DType, Is.EqualTo(DType.Int64));
        Assert.That(sum.ToArray<long>(), Is.EqualTo(new long[] { 11, 18, 3_000_000_000_005 }));
        Assert.That(diff.ToArray<long>(), Is.EqualTo(new long[] { -19, -42, 2_999_999_999_990 }));
    }

    [Test]
    public void AddSubMulDiv_Broadcasting_MatchesCSharp()
    {
        var a = Random(6, 1);           // (2, 3)
        var b = Random(3, 2);           // (3,) broadcast over rows
        using var ta = On(Tensor.FromArray(a, 2, 3)).To(DType.Float64);
        using var tb = On(Tensor.FromArray(b, 3));
        using var add = ta + tb;
        using var sub = ta.Sub(tb, 2.0);
        using var mul = ta * tb;
        using var div = ta / tb;
        var eAdd = new double[6]; var eSub = new double[6]; var eMul = new double[6]; var eDiv = new double[6];
        for (int i = 0; i < 6; i++)
        {
            eAdd[i] = a[i] + b[i % 3]; eSub[i] = a[i] - 2 * b[i % 3];
            eMul[i] = a[i] * b[i % 3]; eDiv[i] = a[i] / b[i % 3];
        }
        AssertClose(add, eAdd, 1e-12, "add");
        AssertClose(sub, eSub, 1e-12, "sub");
        AssertClose(mul, eMul, 1e-12, "mul");
        AssertClose(div, eDiv, 1e-12, "div");
        Assert.That(add.Shape, Is.EqualTo(new long[] { 2, 3 }));
    }

    [Test]
    public void ScalarOps_KeepDType()
    {
        using var t = On(Tensor.FromArray(new float[] { 1, 2, 4 }));
        using var m = t * 0.5;
        using var p = t + 1.5;
        using var q = t - 1;
        using var d = t / 4;
        Assert.That(m.DType, Is.EqualTo(DType.Float32), "a double scalar must not promote a float32 tensor");
        Assert.That(m.ToArray<float>(), Is.EqualTo(new float[] { 0.5f, 1, 2 }));
        Assert.That(p.ToArray<float>(), Is.EqualTo(new float[] { 2.5f, 3.5f, 5.5f }));
        Assert.That(q.ToArray<float>(), Is.EqualTo(new float[] { 0, 1, 3 }));
        Assert.That(d.ToArray<float>(), Is.EqualTo(new float[] { 0.25f, 0.5f, 1 }));
    }

    [Test]
    public void UnaryOps_MatchMath()
    {
        var x = new double[] { 0.1, 0.5, 1.0, 2.0, 3.7 };
        using var t = On(Tensor.FromArray(x));
        using var exp = t.Exp();
        using var rsqrt = t.Rsqrt();
        using var pow = t.Pow(3);
        using var log = t.Log();
        using var neg = -t;
        AssertClose(exp, x.Select(v => Math.Exp(v)).ToArray(), 1e-12, "exp");
        AssertClose(rsqrt, x.Select(v => 1 / Math.Sqrt(v)).ToArray(), 1e-12, "rsqrt");
        AssertClose(pow, x.Select(v => v * v * v).ToArray(), 1e-12, "pow");
        AssertClose(log, x.Select(v => Math.Log(v)).ToArray(), 1e-12, "log");
        AssertClose(neg, x.Select(v => -v).ToArray(), 0, "neg");
    }

    [Test]
    public void SiluAndGelu_MatchFormulas()
    {
        var x = new double[] { -3, -1, -0.2, 0, 0.3, 1, 2.5 };
        using var t = On(Tensor.FromArray(x));
        using var silu = t.Silu();
        using var gelu = t.Gelu();
        AssertClose(silu, x.Select(v => v / (1 + Math.Exp(-v))).ToArray(), 1e-12, "silu");
        AssertClose(gelu, x.Select(v => 0.5 * v * (1 + Erf(v / Math.Sqrt(2)))).ToArray(), 1e-6, "gelu");
    }

    [Test]
    public void SiluAndGeluBackward_MatchFiniteDifferences()
    {
        var x = new double[] { -2, -0.5, 0.1, 0.7, 1.9 };
        const double h = 1e-6;
        using var t = On(Tensor.FromArray(x));
        using var ones = Tensor.Ones([x.Length], DType.Float64);
        using var dSilu = Tensor.SiluBackward(ones, t);
        using var dGelu = Tensor.GeluBackward(ones, t);
        double Silu(double v) => v / (1 + Math.Exp(-v));
        double Gelu(double v) => 0.5 * v * (1 + Erf(v / Math.Sqrt(2)));
        AssertClose(dSilu, x.Select(v => (Silu(v + h) - Silu(v - h)) / (2 * h)).ToArray(), 1e-6, "silu'");
        AssertClose(dGelu, x.Select(v => (Gelu(v + h) - Gelu(v - h)) / (2 * h)).ToArray(), 1e-6, "gelu'");
    }

    [Test]
    public void WhereAndMaskedFill_SelectElements()
    {
        using var x = On(Tensor.FromArray(new float[] { 1, -2, 3, -4 }));
        using var mask = x.Gt(0);
        using var neg = -x;
        using var w = Tensor.Where(mask, x, neg);
        using var f = x.MaskedFill(mask, -9);
        Assert.That(mask.DType, Is.EqualTo(DType.Bool));
        Assert.That(w.ToArray<float>(), Is.EqualTo(new float[] { 1, 2, 3, 4 }));
        Assert.That(f.ToArray<float>(), Is.EqualTo(new float[] { -9, -2, -9, -4 }));
    }

    [Test]
    public void Clamp_AndIsFinite()
    {
        using var x = On(Tensor.FromArray(new double[] { -5, 0.5, 7, double.NaN, double.PositiveInfinity }));
        using var c = x.Clamp(-1, 1);
        var v = c.ToArray<double>();
        Assert.That(v.Take(3), Is.EqualTo(new double[] { -1, 0.5, 1 }));
        using var fin = x.IsFinite();
        Assert.That(fin.ToArray<bool>(), Is.EqualTo(new[] { true, true, true, false, false }));
        using var all = fin.All();
        Assert.That(all.Item<bool>(), Is.False);
    }

    // Abramowitz–Stegun 7.1.26 is too coarse for 1e-7; use the series/continued-fraction via Math functions.
    internal static double Erf(double x)
    {
        // erf via the complementary error function's high-precision rational approximation (W. J. Cody).
        double t = 1.0 / (1.0 + 0.5 * Math.Abs(x));
        double y = 1 - t * Math.Exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
            t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? y : -y;
    }
}
