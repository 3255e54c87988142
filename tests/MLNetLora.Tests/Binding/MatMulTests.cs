using MLNetLora.LibTorch;
using static MLNetLora.Tests.TestUtil;

namespace MLNetLora.Tests.Binding;

[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Available))]
public class MatMulTests(string device) : DeviceFixture(device)
{
    [Test]
    public void Mm_MatchesNaiveProduct()
    {
        var a = Random(3 * 4, 3); var b = Random(4 * 5, 4);
        using var ta = On(Tensor.FromArray(a, 3, 4));
        using var tb = On(Tensor.FromArray(b, 4, 5));
        using var c = ta.Mm(tb);
        AssertClose(c, MatMul(a, b, 3, 4, 5), 1e-12);
    }

    [Test]
    public void Bmm_AndMatMul_BatchEachMatrix()
    {
        var a = Random(2 * 3 * 4, 5); var b = Random(2 * 4 * 2, 6);
        using var ta = On(Tensor.FromArray(a, 2, 3, 4));
        using var tb = On(Tensor.FromArray(b, 2, 4, 2));
        using var c = ta.Bmm(tb);
        using var d = ta.MatMul(tb);
        var expected = MatMul(a[..12], b[..8], 3, 4, 2).Concat(MatMul(a[12..], b[8..], 3, 4, 2)).ToArray();
        AssertClose(c, expected, 1e-12, "bmm");
        AssertClose(d, expected, 1e-12, "matmul");
    }

    [Test]
    public void Addmm_ScalesBiasAndProduct()
    {
        var a = Random(2 * 3, 7); var b = Random(3 * 2, 8); var bias = new double[] { 1, -1 };
        using var ta = On(Tensor.FromArray(a, 2, 3));
        using var tb = On(Tensor.FromArray(b, 3, 2));
        using var tbias = On(Tensor.FromArray(bias, 2));
        using var c = tbias.Addmm(ta, tb, beta: 0.5, alpha: 2);
        var p = MatMul(a, b, 2, 3, 2);
        AssertClose(c, p.Select((v, i) => 0.5 * bias[i % 2] + 2 * v).ToArray(), 1e-12);
    }

    [Test]
    public void Linear_IsInputTimesWeightTransposedPlusBias()
    {
        var x = Random(2 * 3, 9); var w = Random(4 * 3, 10); var bias = Random(4, 11);
        using var tx = On(Tensor.FromArray(x, 2, 3));
        using var tw = On(Tensor.FromArray(w, 4, 3));
        using var tbias = On(Tensor.FromArray(bias, 4));
        using var y = tx.Linear(tw, tbias);
        var p = MatMul(x, Transpose(w, 4, 3), 2, 3, 4);
        AssertClose(y, p.Select((v, i) => v + bias[i % 4]).ToArray(), 1e-12);
        using var y2 = tx.Linear(tw);
        AssertClose(y2, p, 1e-12, "no bias");
    }
}
