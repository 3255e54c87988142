using MLNetLora.LibTorch;

namespace MLNetLora.Tests;

/// <summary>Small helpers shared by the tests: reference math in plain C# and array comparison.</summary>
internal static class TestUtil
{
    public static void AssertClose(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected, double atol, string what = "")
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{what}: length");
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = Math.Abs(actual[i] - expected[i]);
            if (double.IsNaN(d) || d > worst) { worst = double.IsNaN(d) ? double.PositiveInfinity : d; worstAt = i; }
        }
        Assert.That(worst, Is.LessThanOrEqualTo(atol),
            $"{what}: max |diff| {worst:G4} at {worstAt} (actual {(worstAt >= 0 ? actual[worstAt] : 0)}, expected {(worstAt >= 0 ? expected[worstAt] : 0)})");
    }

    public static void AssertClose(Tensor actual, ReadOnlySpan<double> expected, double atol, string what = "") =>
        AssertClose(actual.ToArray<double>(), expected, atol, what);

    public static double[] Seq(int n, double scale = 0.1, double offset = -0.5)
    {
        var r = new double[n];
        var g = new Generator(1234 + (ulong)n);
        for (int i = 0; i < n; i++) r[i] = offset + scale * 10 * g.NextDouble() * 0.1 + 0.01 * i % 0.7;
        return r;
    }

    public static double[] Random(int n, ulong seed)
    {
        var g = new Generator(seed);
        var r = new double[n];
        g.FillNormal(r);
        return r;
    }

    /// <summary>(m,k) x (k,n) row-major.</summary>
    public static double[] MatMul(double[] a, double[] b, int m, int k, int n)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
                c[i * n + j] = s;
            }
        return c;
    }

    public static double[] Transpose(double[] a, int rows, int cols)
    {
        var t = new double[a.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
        return t;
    }
}
