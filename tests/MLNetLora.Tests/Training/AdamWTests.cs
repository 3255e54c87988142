using MLNetLora.LibTorch;
using MLNetLora.Training.Optim;
using static MLNetLora.Tests.TestUtil;

namespace MLNetLora.Tests.Training;

public class AdamWTests
{
    /// <summary>torch.optim.AdamW's update written out in plain C#.</summary>
    private static void ReferenceStep(double[] p, double[] g, double[] m, double[] v, int step, double lr, double wd,
        double b1 = 0.9, double b2 = 0.999, double eps = 1e-8)
    {
        for (int i = 0; i < p.Length; i++)
        {
            p[i] *= 1 - lr * wd;
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double mhat = m[i] / (1 - Math.Pow(b1, step));
            double denom = Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(b2, step)) + eps;
            p[i] -= lr * mhat / denom;
        }
    }

    [Test]
    public void Update_MatchesTorchFormula_OverSeveralSteps_WithGroups()
    {
        var p1 = Random(6, 1); var p2 = Random(4, 2);
        using var t1 = Tensor.FromArray(p1, 2, 3);
        using var t2 = Tensor.FromArray(p2, 4);
        using var g1 = Tensor.Zeros([2, 3], DType.Float64);
        using var g2 = Tensor.Zeros([4], DType.Float64);
        using var opt = new AdamW([
            new ParameterGroup("a", [t1], [g1], RateMultiplier: 1, WeightDecay: 0.01),
            new ParameterGroup("b", [t2], [g2], RateMultiplier: 16, WeightDecay: 0),
        ]);
        var m1 = new double[6]; var v1 = new double[6]; var m2 = new double[4]; var v2 = new double[4];
        for (int step = 1; step <= 4; step++)
        {
            var grad1 = Random(6, (ulong)(10 + step)); var grad2 = Random(4, (ulong)(20 + step));
            using (var s = Tensor.FromArray(grad1, 2, 3)) g1.CopyFrom(s);
            using (var s = Tensor.FromArray(grad2, 4)) g2.CopyFrom(s);
            double lr = 1e-3 * step;
            opt.Update(lr);
            ReferenceStep(p1, grad1, m1, v1, step, lr, 0.01);
            ReferenceStep(p2, grad2, m2, v2, step, lr * 16, 0);
        }
        AssertClose(t1, p1, 1e-12, "group a");
        AssertClose(t2, p2, 1e-12, "group b");
        Assert.That(opt.Step, Is.EqualTo(4));
    }

    [Test]
    public void ClipByGlobalNorm_ScalesOnlyAboveMax_AndReportsNormBefore()
    {
        using var a = Tensor.FromArray(new double[] { 3, 0 });
        using var b = Tensor.FromArray(new double[] { 0, 4 });
        double norm = GradientClipping.ClipByGlobalNorm([a, b], 1.0);
        Assert.That(norm, Is.EqualTo(5).Within(1e-12));
        double coef = 1.0 / (5 + 1e-6);
        Assert.That(a.ToArray<double>()[0], Is.EqualTo(3 * coef).Within(1e-12));
        Assert.That(b.ToArray<double>()[1], Is.EqualTo(4 * coef).Within(1e-12));
        double again = GradientClipping.ClipByGlobalNorm([a, b], 2.0);
        Assert.That(again, Is.EqualTo(5 * coef).Within(1e-9));
        Assert.That(a.ToArray<double>()[0], Is.EqualTo(3 * coef).Within(1e-12), "below the maximum nothing changes");
    }
}
