using MLNetLora.LibTorch;

namespace MLNetLora.Tests.Binding;

public class ShapeTests
{
    private static Tensor Iota(params long[] shape)
    {
        using var flat = Tensor.Arange(shape.Aggregate(1L, (a, b) => a * b), DType.Float32);
        return flat.Reshape(shape); // a view keeps the storage alive after `flat` is released
    }

    [Test]
    public void ViewReshape_ChangeShapeNotData()
    {
        using var t = Iota(2, 6);
        using var v = t.View(3, -1);
        using var r = t.Reshape(4, 3);
        Assert.That(v.Shape, Is.EqualTo(new long[] { 3, 4 }));
        Assert.That(r.ToArray<float>(), Is.EqualTo(t.ToArray<float>()));
    }

    [Test]
    public void TransposePermute_ThenContiguous_ReordersElements()
    {
        using var t = Iota(2, 3);
        using var tt = t.T();
        Assert.That(tt.IsContiguous, Is.False);
        using var c = tt.Contiguous();
        Assert.That(c.IsContiguous, Is.True);
        Assert.That(c.ToArray<float>(), Is.EqualTo(new float[] { 0, 3, 1, 4, 2, 5 }));
        using var p3 = Iota(2, 3, 4);
        using var p = p3.Permute(2, 0, 1);
        Assert.That(p.Shape, Is.EqualTo(new long[] { 4, 2, 3 }));
        var pv = p.ToArray<float>();
        Assert.That(pv[1], Is.EqualTo(4f));   // p[0,0,1] = x[0,1,0]
        Assert.That(pv[6], Is.EqualTo(1f));   // p[1,0,0] = x[0,0,1]
    }

    [Test]
    public void NarrowSlice_SelectRanges()
    {
        using var t = Iota(10);
        using var n = t.Narrow(0, 2, 3);
        using var s = t.Slice(0, 1, -1, 3);
        using var tail = t.Slice(0, -2, null);
        Assert.That(n.ToArray<float>(), Is.EqualTo(new float[] { 2, 3, 4 }));
        Assert.That(s.ToArray<float>(), Is.EqualTo(new float[] { 1, 4, 7 }));
        Assert.That(tail.ToArray<float>(), Is.EqualTo(new float[] { 8, 9 }));
    }

    [Test]
    public void CatStack_JoinTensors()
    {
        using var a = Iota(2, 2);
        using var b = Tensor.Ones([1, 2]);
        using var c = Tensor.Cat([a, b], 0);
        Assert.That(c.ToArray<float>(), Is.EqualTo(new float[] { 0, 1, 2, 3, 1, 1 }));
        using var s = Tensor.Stack([a, a], 1);
        Assert.That(s.Shape, Is.EqualTo(new long[] { 2, 2, 2 }));
        Assert.That(s.ToArray<float>(), Is.EqualTo(new float[] { 0, 1, 0, 1, 2, 3, 2, 3 }));
    }

    [Test]
    public void IndexSelectGatherEmbedding_PickRows()
    {
        using var table = Iota(4, 3);
        using var idx = Tensor.FromArray(new long[] { 3, 0, 3 });
        using var rows = table.IndexSelect(0, idx);
        using var emb = table.Embedding(idx);
        var expected = new float[] { 9, 10, 11, 0, 1, 2, 9, 10, 11 };
        Assert.That(rows.ToArray<float>(), Is.EqualTo(expected));
        Assert.That(emb.ToArray<float>(), Is.EqualTo(expected));
        using var gi = Tensor.FromArray(new long[] { 2, 0, 1, 1 }, 4, 1);
        using var g = table.Gather(1, gi);
        Assert.That(g.ToArray<float>(), Is.EqualTo(new float[] { 2, 3, 7, 10 }));
    }

    [Test]
    public void EmbeddingBackward_SumsGradientsPerRow()
    {
        using var idx = Tensor.FromArray(new long[] { 1, 3, 1 });
        using var d = Tensor.FromArray(new double[] { 1, 2, 10, 20, 100, 200 }, 3, 2);
        using var dw = Tensor.EmbeddingBackward(d, idx, 4);
        Assert.That(dw.ToArray<double>(), Is.EqualTo(new double[] { 0, 0, 101, 202, 0, 0, 10, 20 }));
    }

    [Test]
    public void UnsqueezeExpandRepeatInterleave_Broadcast()
    {
        using var t = Iota(2);
        using var u = t.Unsqueeze(0);
        using var e = u.Expand(3, 2);
        Assert.That(e.ToArray<float>(), Is.EqualTo(new float[] { 0, 1, 0, 1, 0, 1 }));
        using var r = t.RepeatInterleave(2, 0);
        Assert.That(r.ToArray<float>(), Is.EqualTo(new float[] { 0, 0, 1, 1 }));
        using var sq = u.Squeeze(0);
        Assert.That(sq.Shape, Is.EqualTo(new long[] { 2 }));
    }
}
