using MLNetLora.LibTorch;

namespace MLNetLora.Tests.Binding;

public class TensorStreamTests
{
    [Test]
    public void WriteTo_Contiguous_WritesTheSameBytesAsToBytes()
    {
        using var t = Tensor.FromArray(new float[] { 1, -2, 3.5f, 4, 5, 6 }, 2, 3);
        using var stream = new MemoryStream();
        long written = t.WriteTo(stream);
        Assert.That(written, Is.EqualTo(24));
        Assert.That(stream.ToArray(), Is.EqualTo(t.ToBytes()));
    }

    [Test]
    public void WriteTo_Transposed_WritesRowMajorOrder()
    {
        using var t = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        using var transposed = t.Transpose(0, 1);
        using var stream = new MemoryStream();
        transposed.WriteTo(stream);
        using var back = Tensor.FromBytes(stream.ToArray(), [3, 2], DType.Float32);
        Assert.That(back.ToArray<float>(), Is.EqualTo(new float[] { 1, 4, 2, 5, 3, 6 }));
    }

    [Test]
    public void WriteTo_Empty_WritesNothing()
    {
        using var t = Tensor.Empty([0, 4]);
        using var stream = new MemoryStream();
        Assert.That(t.WriteTo(stream), Is.Zero);
        Assert.That(stream.Length, Is.Zero);
    }

    [Test]
    public void FromStream_ShortReads_FillsTheWholeTensor()
    {
        using var source = Tensor.Arange(0, 1000, 1, DType.Int64);
        using var stream = new TrickleStream(source.ToBytes(), 7);
        using var t = Tensor.FromStream(stream, [10, 100], DType.Int64);
        Assert.That(t.Shape, Is.EqualTo(new long[] { 10, 100 }));
        Assert.That(t.ToArray<long>(), Is.EqualTo(Enumerable.Range(0, 1000).Select(i => (long)i).ToArray()));
    }

    [Test]
    public void FromStream_StreamTooShort_ThrowsEndOfStream()
    {
        using var stream = new MemoryStream(new byte[10]);
        var ex = Assert.Throws<EndOfStreamException>(() => Tensor.FromStream(stream, [4], DType.Float32));
        Assert.That(ex!.Message, Does.Contain("10 of the 16 bytes"));
    }

    /// <summary>Returns at most a few bytes per read, as a pipe or network stream may.</summary>
    private sealed class TrickleStream(byte[] data, int maxPerRead) : MemoryStream(data)
    {
        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, maxPerRead)]);
    }
}
