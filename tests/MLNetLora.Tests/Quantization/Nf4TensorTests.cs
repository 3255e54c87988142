using MLNetLora.LibTorch;
using MLNetLora.Models.Quantization;

namespace MLNetLora.Tests.Quantization;

/// <summary>
/// NF4 quantization in bitsandbytes' layout, checked against values worked out by hand from the
/// public level table: codes, nibble order, ties on a midpoint, partial blocks, and the error bound.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Available))]
public class Nf4TensorTests(string device) : DeviceFixture(device)
{
    private static readonly float[] L = [.. Nf4.Levels];

    private static byte[] Pack(int[] codes)
    {
        var b = new byte[(codes.Length + 1) / 2];
        for (int i = 0; i < codes.Length; i++) b[i / 2] |= (byte)(i % 2 == 0 ? codes[i] << 4 : codes[i]);
        return b;
    }

    [Test]
    public void Levels_AreBitsandbytesNf4()
    {
        Assert.That(L, Has.Length.EqualTo(16));
        Assert.That(L[0], Is.EqualTo(-1f));
        Assert.That(L[7], Is.EqualTo(0f));
        Assert.That(L[15], Is.EqualTo(1f));
        Assert.That(L, Is.Ordered.Ascending);
        // Two of dQuantizeNF4's literals: the midpoints either side of zero.
        Assert.That(Nf4.Thresholds[7], Is.EqualTo(0.03979014977812767f));
        Assert.That(Nf4.Thresholds[6], Is.EqualTo(-0.045525018125772476f));
    }

    [Test]
    public void Quantize_KnownBlock()
    {
        // absmax 2 (a power of two, so x·(1/absmax) is exact): every level, then each midpoint,
        // one float above it and one below it. On the midpoint the lower code wins (x > t is strict).
        const float a = 2f;
        var x = new List<float>();
        var expected = new List<int>();
        for (int i = 0; i < 16; i++) { x.Add(L[i] * a); expected.Add(i); }
        for (int i = 0; i < 15; i++)
        {
            float t = Nf4.Thresholds[i];
            x.Add(t * a); expected.Add(i);
            x.Add(MathF.BitIncrement(t) * a); expected.Add(i + 1);
            x.Add(MathF.BitDecrement(t) * a); expected.Add(i);
        }
        while (x.Count < 64) { x.Add(0f); expected.Add(7); }
        Assert.That(x, Has.Count.EqualTo(64));

        using var w = On(Tensor.FromArray(x.ToArray(), 4, 16));
        using var q = Nf4Tensor.Quantize(w, 64, doubleQuant: false);
        using var idx = q.Indices();
        Assert.That(idx.ToArray<byte>().Select(b => (int)b), Is.EqualTo(expected));
        Assert.That(q.Codes.ToArray<byte>(), Is.EqualTo(Pack([.. expected])));
        Assert.That(q.Absmax!.ToArray<float>(), Is.EqualTo(new[] { a }));
        using var d = q.Dequantize(DType.Float32);
        Assert.That(d.Shape, Is.EqualTo(new long[] { 4, 16 }));
        Assert.That(d.ToArray<float>(), Is.EqualTo(expected.Select(c => L[c] * a).ToArray()));
    }

    [Test]
    public void Quantize_PacksFirstElementInHighNibble()
    {
        // codes 15, 0, 7, 13, 1 → bytes 0xF0, 0x7D, then 0x17 (the odd element is followed by the
        // zero padding, which is code 7, as bitsandbytes writes it).
        using var w = On(Tensor.FromArray(new[] { 1f, -1f, 0f, L[13], L[1] }, 5));
        using var q = Nf4Tensor.Quantize(w, 64);
        Assert.That(q.Codes.DType, Is.EqualTo(DType.UInt8));
        Assert.That(q.Codes.ToArray<byte>(), Is.EqualTo(new byte[] { 0xF0, 0x7D, 0x17 }));
    }

    [Test]
    public void Quantize_PartialLastBlock()
    {
        // 65 weights in blocks of 64: the second block holds one weight and has its own absmax.
        var v = TestUtil.Random(65, 7).Select(d => (float)d).ToArray();
        v[64] = -0.25f;
        using var w = On(Tensor.FromArray(v, 5, 13));
        using var q = Nf4Tensor.Quantize(w, 64);
        Assert.That(q.Blocks, Is.EqualTo(2));
        Assert.That(q.Codes.NumEl, Is.EqualTo(33));
        var absmax = q.Absmax!.ToArray<float>();
        Assert.That(absmax[0], Is.EqualTo(v.Take(64).Max(MathF.Abs)));
        Assert.That(absmax[1], Is.EqualTo(0.25f));
        Assert.That(q.Codes.ToArray<byte>()[32], Is.EqualTo(0x07), "last weight is -absmax (code 0), then the pad's code 7");
        using var d = q.Dequantize(DType.Float32);
        Assert.That(d.Shape, Is.EqualTo(new long[] { 5, 13 }));
        Assert.That(d.ToArray<float>()[64], Is.EqualTo(-0.25f));
        // The first 64 decode exactly as when quantized alone.
        using var head = On(Tensor.FromArray(v.Take(64).ToArray(), 64));
        using var qh = Nf4Tensor.Quantize(head, 64);
        using var dh = qh.Dequantize(DType.Float32);
        Assert.That(d.ToArray<float>().Take(64), Is.EqualTo(dh.ToArray<float>()));
    }

    [Test]
    public void Quantize_AllZeroBlock_DecodesToZero()
    {
        using var w = On(Tensor.Zeros([2, 64]));
        using var q = Nf4Tensor.Quantize(w, 64);
        using var d = q.Dequantize(DType.Float32);
        Assert.That(d.ToArray<float>(), Is.All.EqualTo(0f));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void RoundTrip_ErrorWithinHalfLargestGapTimesAbsmax(bool doubleQuant)
    {
        const int rows = 128, cols = 384, bs = 64;
        var v = TestUtil.Random(rows * cols, 11).Select(d => (float)(0.02 * d)).ToArray();
        using var w = On(Tensor.FromArray(v, rows, cols));
        using var q = Nf4Tensor.Quantize(w, bs, doubleQuant);
        using var d = q.Dequantize(DType.Float32);
        using var scales = q.BlockAbsmax();
        var got = d.ToArray<float>();
        var s = scales.ToArray<float>();
        double worstRatio = 0;
        for (int b = 0; b < rows * cols / bs; b++)
        {
            double trueMax = 0;
            for (int k = 0; k < bs; k++) trueMax = Math.Max(trueMax, Math.Abs(v[b * bs + k]));
            // Decoded with the stored scale s[b]: |x − level·s| ≤ |x/trueMax − level|·trueMax + |level|·|trueMax − s|.
            double bound = Nf4.MaxRoundingError * trueMax + Math.Abs(trueMax - s[b]) + 1e-6 * trueMax;
            for (int k = 0; k < bs; k++)
            {
                double e = Math.Abs(got[b * bs + k] - v[b * bs + k]);
                Assert.That(e, Is.LessThanOrEqualTo(bound), $"block {b} element {k}");
                worstRatio = Math.Max(worstRatio, e / trueMax);
            }
        }
        TestContext.Out.WriteLine($"doubleQuant={doubleQuant}: worst |error|/absmax {worstRatio:G4} (bound {Nf4.MaxRoundingError:G4}), {q.BytesPerWeight:F5} bytes/weight");
    }

    [Test]
    public void StorageBytes_AboutHalfAByteAWeight()
    {
        using var w = On(Tensor.Zeros([256, 1024]));
        using var plain = Nf4Tensor.Quantize(w, 64, doubleQuant: false);
        using var dq = Nf4Tensor.Quantize(w, 64, doubleQuant: true);
        long n = 256 * 1024;
        Assert.That(plain.StorageBytes, Is.EqualTo(n / 2 + 4 * n / 64 + 64));
        Assert.That(dq.StorageBytes, Is.EqualTo(n / 2 + n / 64 + 4 * n / 64 / 256 + 4 + 1024 + 64));
        Assert.That(plain.BytesPerWeight, Is.EqualTo(0.5 + 4.0 / 64).Within(1e-3));
        Assert.That(dq.BytesPerWeight, Is.EqualTo(0.5 + 1.0 / 64 + 4.0 / (64 * 256)).Within(1e-2));
        TestContext.Out.WriteLine($"bytes/weight: plain {plain.BytesPerWeight:F5}, double quant {dq.BytesPerWeight:F5} (bf16: 2)");
    }

    [Test]
    public void Quantize_BFloat16_MatchesFloat32OfSameValues()
    {
        var v = TestUtil.Random(3 * 200, 5).Select(d => (float)d).ToArray();
        using var f = Tensor.FromArray(v, 3, 200);
        using var bfCpu = f.To(DType.BFloat16);
        using var exact = bfCpu.To(DType.Float32);                 // the bf16 values as float32
        using var bf = On(bfCpu.Clone());
        using var q16 = Nf4Tensor.Quantize(bf, 64, doubleQuant: true);
        using var ex = On(exact.Clone());
        using var q32 = Nf4Tensor.Quantize(ex, 64, doubleQuant: true);
        Assert.That(q16.OriginalDType, Is.EqualTo(DType.BFloat16));
        Assert.That(q16.Codes.ToArray<byte>(), Is.EqualTo(q32.Codes.ToArray<byte>()));
        using var d16 = q16.Dequantize();
        Assert.That(d16.DType, Is.EqualTo(DType.BFloat16));
        using var d32 = q32.Dequantize(DType.Float32);
        using var d32to16 = d32.To(DType.BFloat16);
        Assert.That(d16.To(DType.Float32).ToArray<float>(), Is.EqualTo(d32to16.To(DType.Float32).ToArray<float>()));
    }

    [Test]
    public void Quantize_RejectsBadArguments()
    {
        using var w = On(Tensor.Zeros([4, 4]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Nf4Tensor.Quantize(w, 63));
        using var i = On(Tensor.Zeros([4], DType.Int64));
        Assert.Throws<ArgumentException>(() => Nf4Tensor.Quantize(i));
        var q = Nf4Tensor.Quantize(w);
        q.Dispose();
        Assert.Throws<ObjectDisposedException>(() => q.Dequantize());
    }
}
