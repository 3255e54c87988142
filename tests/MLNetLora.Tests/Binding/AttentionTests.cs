using MLNetLora.LibTorch;
using static MLNetLora.Tests.TestUtil;

namespace MLNetLora.Tests.Binding;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Available))]
public class AttentionTests(string device) : DeviceFixture(device)
{
    private const int B = 2, H = 2, T = 5, D = 4;

    // The CUDA kernel (memory-efficient attention) has no float64 path: compare in float32 there.
    private double Tol(double cpu) => Dev.IsCuda ? 2e-4 : cpu;

    private Tensor OnA(Tensor cpu)
    {
        var t = On(cpu);
        if (!Dev.IsCuda) return t;
        using (t) return t.To(DType.Float32);
    }

    /// <summary>Naive causal attention in C# with an optional key-padding mask (true = keep).</summary>
    private static double[] Reference(double[] q, double[] k, double[] v, bool causal, bool[,]? keep)
    {
        var o = new double[B * H * T * D];
        double scale = 1 / Math.Sqrt(D);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < T; i++)
                {
                    int bh = (b * H + h) * T * D;
                    var s = new double[T];
                    double mx = double.NegativeInfinity;
                    for (int j = 0; j < T; j++)
                    {
                        bool allowed = (!causal || j <= i) && (keep is null || keep[b, j]);
                        double dot = 0;
                        for (int d = 0; d < D; d++) dot += q[bh + i * D + d] * k[bh + j * D + d];
                        s[j] = allowed ? dot * scale : double.NegativeInfinity;
                        mx = Math.Max(mx, s[j]);
                    }
                    double z = s.Sum(x => Math.Exp(x - mx));
                    for (int j = 0; j < T; j++)
                        for (int d = 0; d < D; d++) o[bh + i * D + d] += Math.Exp(s[j] - mx) / z * v[bh + j * D + d];
                }
        return o;
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Forward_MatchesNaiveAttention(bool causal)
    {
        var q = Random(B * H * T * D, 1); var k = Random(B * H * T * D, 2); var v = Random(B * H * T * D, 3);
        using var tq = OnA(Tensor.FromArray(q, B, H, T, D));
        using var tk = OnA(Tensor.FromArray(k, B, H, T, D));
        using var tv = OnA(Tensor.FromArray(v, B, H, T, D));
        using var r = Attention.Forward(tq, tk, tv, causal);
        AssertClose(r.Output, Reference(q, k, v, causal, null), Tol(1e-10));
    }

    [Test]
    public void Forward_WithPaddingMask_IgnoresMaskedKeys()
    {
        var q = Random(B * H * T * D, 4); var k = Random(B * H * T * D, 5); var v = Random(B * H * T * D, 6);
        var keep = new bool[B, T];
        for (int j = 0; j < T; j++) { keep[0, j] = true; keep[1, j] = j >= 2; } // row 1 is left-padded by 2
        var maskValues = new double[B * T];
        for (int b = 0; b < B; b++) for (int j = 0; j < T; j++) maskValues[b * T + j] = keep[b, j] ? 0 : double.NegativeInfinity;
        using var mask = OnA(Tensor.FromArray(maskValues, B, 1, 1, T));
        using var tq = OnA(Tensor.FromArray(q, B, H, T, D));
        using var tk = OnA(Tensor.FromArray(k, B, H, T, D));
        using var tv = OnA(Tensor.FromArray(v, B, H, T, D));
        using var r = Attention.Forward(tq, tk, tv, causal: false, mask);
        AssertClose(r.Output, Reference(q, k, v, false, keep), Tol(1e-10));
    }

    [Test]
    public void Backward_MatchesFiniteDifferences()
    {
        var q = Random(B * H * T * D, 7); var k = Random(B * H * T * D, 8); var v = Random(B * H * T * D, 9);
        var g = Random(B * H * T * D, 10);
        using var tq = OnA(Tensor.FromArray(q, B, H, T, D));
        using var tk = OnA(Tensor.FromArray(k, B, H, T, D));
        using var tv = OnA(Tensor.FromArray(v, B, H, T, D));
        using var tg = OnA(Tensor.FromArray(g, B, H, T, D));
        using var fwd = Attention.Forward(tq, tk, tv, causal: true);
        var (dq, dk, dv) = Attention.Backward(tg, tq, tk, tv, fwd, causal: true);
        using var _q = dq; using var _k = dk; using var _v = dv;
        double Loss(double[] qq, double[] kk, double[] vv) =>
            Reference(qq, kk, vv, true, null).Select((o, i) => o * g[i]).Sum();
        double[] Fd(int which)
        {
            var grad = new double[q.Length];
            for (int i = 0; i < q.Length; i++)
            {
                var arrs = new[] { (double[])q.Clone(), (double[])k.Clone(), (double[])v.Clone() };
                var arrm = new[] { (double[])q.Clone(), (double[])k.Clone(), (double[])v.Clone() };
                arrs[which][i] += 1e-6; arrm[which][i] -= 1e-6;
                grad[i] = (Loss(arrs[0], arrs[1], arrs[2]) - Loss(arrm[0], arrm[1], arrm[2])) / 2e-6;
            }
            return grad;
        }
        AssertClose(dq, Fd(0), Tol(1e-6), "dq");
        AssertClose(dk, Fd(1), Tol(1e-6), "dk");
        AssertClose(dv, Fd(2), Tol(1e-6), "dv");
    }
}

public class EfficientAttentionBiasTests
{
    [Test]
    public void CudaBias_UnalignedMask_IsPaddedSlicedAndExpanded()
    {
        var values = Enumerable.Range(0, 2 * 5 * 5).Select(i => (double)i).ToArray();
        using var mask = Tensor.FromArray(values, 2, 1, 5, 5);
        using var q = Tensor.Zeros([2, 3, 5, 4], DType.Float64);
        using var k = Tensor.Zeros([2, 3, 5, 4], DType.Float64);
        using var bias = Attention.CudaBias(mask, q, k);
        Assert.That(bias.Shape, Is.EqualTo(new long[] { 2, 3, 5, 5 }));
        Assert.That(bias.Strides[^1], Is.EqualTo(1));
        Assert.That(bias.Strides.Take(3).Where(s => s != 0), Has.All.Matches<long>(s => s % 8 == 0), "every non-broadcast stride is 8-aligned");
        var got = bias.ToArray<double>();
        for (int b = 0; b < 2; b++)
            for (int h = 0; h < 3; h++)
                for (int i = 0; i < 25; i++)
                    Assert.That(got[(b * 3 + h) * 25 + i], Is.EqualTo(values[b * 25 + i]));
    }
}
