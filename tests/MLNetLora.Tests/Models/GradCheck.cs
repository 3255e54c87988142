using MLNetLora.LibTorch;

namespace MLNetLora.Tests.Models;

/// <summary>Central finite differences on individual tensor elements (float64).</summary>
internal static class GradCheck
{
    /// <summary>Compares analytic gradient entries with (L(θ+h) − L(θ−h)) / 2h at <paramref name="indices"/>.</summary>
    public static void AssertMatches(Tensor param, Tensor grad, Func<double> loss, IEnumerable<int> indices, string what,
        double h = 1e-5, double rtol = 1e-5, double atol = 1e-8)
    {
        var analytic = grad.ToArray<double>();
        var values = param.ToArray<double>();
        foreach (int i in indices)
        {
            double orig = values[i];
            values[i] = orig + h; Set(param, values);
            double lp = loss();
            values[i] = orig - h; Set(param, values);
            double lm = loss();
            values[i] = orig; Set(param, values);
            double numeric = (lp - lm) / (2 * h);
            Assert.That(analytic[i], Is.EqualTo(numeric).Within(atol + rtol * Math.Abs(numeric)),
                $"{what}[{i}]: analytic {analytic[i]:G10}, numeric {numeric:G10}");
        }
    }

    /// <summary>A few spread-out indices of a tensor with <paramref name="n"/> elements.</summary>
    public static IEnumerable<int> Sample(long n, int count, ulong seed)
    {
        var g = new Generator(seed);
        return Enumerable.Range(0, count).Select(_ => (int)g.NextInt64(n)).Distinct();
    }

    private static void Set(Tensor t, double[] values)
    {
        using var src = Tensor.FromArray(values, t.Shape);
        t.CopyFrom(src);
    }
}
