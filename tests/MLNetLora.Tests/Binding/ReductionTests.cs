using MLNetLora.LibTorch;
using static MLNetLora.Tests.TestUtil;

namespace MLNetLora.Tests.Binding;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Available))]
public class ReductionTests(string device) : DeviceFixture(device)
{
    private static readonly double[] X = Random(2 * 3 * 4, 21); // (2, 3, 4)

    private static double At(int i, int j, int k) => X[i * 12 + j * 4 + k];

    [Test]
    public void Sum_AllAndOverDims()
    {
        using var t = On(Tensor.FromArray(X, 2, 3, 4));
        using var all = t.Sum();
        Assert.That(all.ToDouble(), Is.EqualTo(X.Sum()).Within(1e-12));
        using var s1 = t.Sum(1);
        var e = new double[8];
        for (int i = 0; i < 2; i++) for (int k = 0; k < 4; k++) for (int j = 0; j < 3; j++) e[i * 4 + k] += At(i, j, k);
        AssertClose(s1, e, 1e-12);
        Assert.That(s1.Shape, Is.EqualTo(new long[] { 2, 4 }));
        using var s02 = t.Sum([0, 2], keepDim: true);
        Assert.That(s02.Shape, Is.EqualTo(new long[] { 1, 3, 1 }));
    }

    [Test]
    public void Mean_OverLastDim()
    {
        using var t = On(Tensor.FromArray(X, 2, 3, 4));
        using var m = t.Mean(-1);
        var e = new double[6];
        for (int r = 0; r < 6; r++) e[r] = X.Skip(r * 4).Take(4).Average();
        AssertClose(m, e, 1e-12);
        using var all = t.Mean();
        Assert.That(all.ToDouble(), Is.EqualTo(X.Average()).Within(1e-12));
    }

    [Test]
    public void Max_ReturnsValuesAndIndices()
    {
        using var t = On(Tensor.FromArray(X, 6, 4));
        var (values, indices) = t.Max(1);
        using var _v = values; using var _i = indices;
        var iv = indices.ToArray<long>();
        for (int r = 0; r < 6; r++)
        {
            var row = X.Skip(r * 4).Take(4).ToArray();
            Assert.That(values.ToArray<double>()[r], Is.EqualTo(row.Max()));
            Assert.That(iv[r], Is.EqualTo(Array.IndexOf(row, row.Max())));
        }
        using var am = t.ArgMax(1);
        Assert.That(am.ToArray<long>(), Is.EqualTo(iv));
    }

    [Test]
    public void SoftmaxAndLogSoftmax_MatchCSharp()
    {
        using var t = On(Tensor.FromArray(X, 6, 4));
        using var sm = t.Softmax(-1);
        using var lsm = t.LogSoftmax(-1);
        var e = new double[24]; var le = new double[24];
        for (int r = 0; r < 6; r++)
        {
            var row = X.Skip(r * 4).Take(4).ToArray();
            double mx = row.Max(), z = row.Sum(v => Math.Exp(v - mx));
            for (int k = 0; k < 4; k++) { e[r * 4 + k] = Math.Exp(row[k] - mx) / z; le[r * 4 + k] = row[k] - mx - Math.Log(z); }
        }
        AssertClose(sm, e, 1e-12, "softmax");
        AssertClose(lsm, le, 1e-12, "log_softmax");
    }

    [Test]
    public void SoftmaxBackward_MatchesFiniteDifferences()
    {
        // L = sum(softmax(x) * g); dL/dx by central differences.
        var x = Random(5, 31); var g = Random(5, 32);
        using var tx = On(Tensor.FromArray(x));
        using var tg = On(Tensor.FromArray(g));
        using var y = tx.Softmax(0);
        using var ly = tx.LogSoftmax(0);
        using var dx = Tensor.SoftmaxBackward(tg, y, 0);
        using var dlx = Tensor.LogSoftmaxBackward(tg, ly, 0);
        double L(double[] v, bool log)
        {
            double mx = v.Max(), z = v.Sum(a => Math.Exp(a - mx));
            return v.Select((a, i) => (log ? a - mx - Math.Log(z) : Math.Exp(a - mx) / z) * g[i]).Sum();
        }
        double[] Fd(bool log) => Enumerable.Range(0, 5).Select(i =>
        {
            var p = (double[])x.Clone(); var m = (double[])x.Clone(); p[i] += 1e-6; m[i] -= 1e-6;
            return (L(p, log) - L(m, log)) / 2e-6;
        }).ToArray();
        AssertClose(dx, Fd(false), 1e-7, "softmax backward");
        AssertClose(dlx, Fd(true), 1e-7, "log_softmax backward");
    }
}
