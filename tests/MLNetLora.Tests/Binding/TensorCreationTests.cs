using MLNetLora.LibTorch;

namespace MLNetLora.Tests.Binding;

public class TensorCreationTests
{
    [Test]
    public void FromArray_RoundTripsValuesShapeAndStrides()
    {
        var data = new float[] { 1, 2, 3, 4, 5, 6 };
        using var t = Tensor.FromArray(data, 2, 3);
        Assert.That(t.Shape, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(t.Strides, Is.EqualTo(new long[] { 3, 1 }));
        Assert.That(t.NumEl, Is.EqualTo(6));
        Assert.That(t.DType, Is.EqualTo(DType.Float32));
        Assert.That(t.Device, Is.EqualTo(Device.Cpu));
        Assert.That(t.ToArray<float>(), Is.EqualTo(data));
    }

    [Test]
    public void FromArray_WrongElementCount_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[5], 2, 3));
        Assert.That(ex!.Message, Does.Contain("6 elements").And.Contain("5 values"));
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    [TestCase(DType.Float16)]
    [TestCase(DType.BFloat16)]
    [TestCase(DType.Int64)]
    [TestCase(DType.Int32)]
    [TestCase(DType.Bool)]
    public void To_EveryDType_PreservesSmallIntegers(DType dtype)
    {
        var data = new double[] { 0, 1, 0, 1, 1, 0 };
        using var t = Tensor.FromArray(data, 3, 2);
        using var c = t.To(dtype);
        Assert.That(c.DType, Is.EqualTo(dtype));
        Assert.That(c.ToArray<double>(), Is.EqualTo(data));
    }

    [Test]
    public void BFloat16_RoundTrip_MatchesRoundToNearestEven()
    {
        var values = new float[] { 1.0f, 3.14159265f, -2.5e-3f, 65504f, 1.00390625f, 1.01171875f, 1e30f, -0.0f };
        using var t = Tensor.FromArray(values);
        using var bf = t.To(DType.BFloat16);
        var raw = bf.ToArray<BFloat16>();
        for (int i = 0; i < values.Length; i++)
            Assert.That(raw[i].Bits, Is.EqualTo(BFloat16.FromSingle(values[i]).Bits), $"value {values[i]}");
        using var back = bf.To(DType.Float32);
        var f = back.ToArray<float>();
        for (int i = 0; i < values.Length; i++)
            Assert.That(f[i], Is.EqualTo(values[i]).Within(Math.Abs(values[i]) / 128), $"value {values[i]}");
        // ties go to even: 1 + 2^-8 is halfway between 1 and 1 + 2^-7 and rounds down to 1.
        Assert.That(f[4], Is.EqualTo(1.0f));
    }

    [Test]
    public void ZerosOnesFull_FillEveryElement()
    {
        using var z = Tensor.Zeros([2, 2]);
        using var o = Tensor.Ones([3], DType.Int64);
        using var f = Tensor.Full([2], 2.5, DType.Float64);
        Assert.That(z.ToArray<float>(), Is.All.EqualTo(0f));
        Assert.That(o.ToArray<long>(), Is.All.EqualTo(1L));
        Assert.That(f.ToArray<double>(), Is.All.EqualTo(2.5));
    }

    [Test]
    public void Arange_ProducesHalfOpenRange()
    {
        using var a = Tensor.Arange(2, 11, 3);
        Assert.That(a.ToArray<long>(), Is.EqualTo(new long[] { 2, 5, 8 }));
        using var b = Tensor.Arange(4, DType.Float32);
        Assert.That(b.ToArray<float>(), Is.EqualTo(new float[] { 0, 1, 2, 3 }));
    }

    [Test]
    public void Randn_SameSeed_SameValues_DifferentSeed_Different()
    {
        using var a = Tensor.Randn([1000], new Generator(7));
        using var b = Tensor.Randn([1000], new Generator(7));
        using var c = Tensor.Randn([1000], new Generator(8));
        Assert.That(a.ToArray<float>(), Is.EqualTo(b.ToArray<float>()));
        Assert.That(a.ToArray<float>(), Is.Not.EqualTo(c.ToArray<float>()));
        var v = a.ToArray<float>();
        double mean = v.Average(), var_ = v.Select(x => (x - mean) * (x - mean)).Average();
        Assert.That(mean, Is.EqualTo(0).Within(0.1));
        Assert.That(var_, Is.EqualTo(1).Within(0.15));
    }

    [Test]
    public void Rand_StaysInRange()
    {
        using var r = Tensor.Rand([500], new Generator(1), -2, 3);
        var v = r.ToArray<float>();
        Assert.That(v.Min(), Is.GreaterThanOrEqualTo(-2f));
        Assert.That(v.Max(), Is.LessThan(3f));
    }

    [Test]
    public void Generator_MatchesMersenneTwisterReference()
    {
        // The C++ standard fixes the 10000th output of std::mt19937 with the default seed 5489.
        var g = new Generator(5489);
        uint x = 0;
        for (int i = 0; i < 10000; i++) x = g.NextUInt32();
        Assert.That(x, Is.EqualTo(4123659995u));
    }

    [Test]
    public void Generator_SaveRestore_ContinuesSequence()
    {
        var g = new Generator(42);
        g.NextNormal();
        var state = g.SaveState();
        var expected = Enumerable.Range(0, 5).Select(_ => g.NextNormal()).ToArray();
        var h = new Generator(0);
        h.RestoreState(state);
        Assert.That(Enumerable.Range(0, 5).Select(_ => h.NextNormal()).ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public void Item_ReadsScalar_AndRejectsVectors()
    {
        using var s = Tensor.Scalar(3.5);
        Assert.That(s.ToDouble(), Is.EqualTo(3.5));
        Assert.That(s.Rank, Is.EqualTo(0));
        using var v = Tensor.Zeros([2]);
        Assert.Throws<InvalidOperationException>(() => v.Item<float>());
    }

    [Test]
    public void Device_Parse_AcceptsCpuAndCuda()
    {
        Assert.That(Device.Parse("cpu"), Is.EqualTo(Device.Cpu));
        Assert.That(Device.Parse("cuda:1"), Is.EqualTo(Device.Cuda(1)));
        Assert.That(Device.Parse("CUDA"), Is.EqualTo(Device.Cuda(0)));
        Assert.Throws<FormatException>(() => Device.Parse("tpu"));
    }

    [Test]
    public void Load_LeavesLibTorchsHugePageAllocatorOff_UnlessAskedFor()
    {
        Torch.EnsureLoaded();
        if (Environment.GetEnvironmentVariable("MLNETLORA_HUGE_PAGES") == "1" || Environment.GetEnvironmentVariable("THP_MEM_ALLOC_ENABLE") is not null)
            Assert.Ignore("huge pages requested for this process");
        // Activations freed and re-allocated every step would pay for zeroing fresh huge pages (docs/benchmarks.md).
        Assert.That(MLNetLora.LibTorch.Interop.LibC.Get("THP_MEM_ALLOC_ENABLE"), Is.Null);
    }

    [Test]
    public unsafe void FromStream_LargeTensor_GetsTransparentHugePages()
    {
        const string mode = "/sys/kernel/mm/transparent_hugepage/enabled";
        if (!OperatingSystem.IsLinux() || !File.Exists(mode) || File.ReadAllText(mode).Contains("[never]", StringComparison.Ordinal))
            Assert.Ignore("transparent huge pages are off on this machine");
        var bytes = new byte[32 << 20];
        using var t = Tensor.FromStream(new MemoryStream(bytes), [bytes.Length / 4], DType.Float32);
        long address = (long)t.DataPointer();
        // The mappings that hold the tensor's data report their huge pages in /proc/self/smaps (madvise splits
        // the block: its 2 MiB-aligned interior becomes a mapping of its own).
        long hugeKb = 0;
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            if (char.IsAsciiHexDigit(line[0]) && line.Contains('-'))
            {
                var range = line.Split(' ')[0].Split('-');
                long lo = Convert.ToInt64(range[0], 16), hi = Convert.ToInt64(range[1], 16);
                inside = lo < address + bytes.Length && hi > address;
            }
            else if (inside && line.StartsWith("AnonHugePages:", StringComparison.Ordinal))
                hugeKb += long.Parse(line["AnonHugePages:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        Assert.That(hugeKb, Is.GreaterThanOrEqualTo(16 << 10), "at least half of a 32 MiB loaded tensor on 2 MiB pages");
    }

    [Test]
    public void LibTorch_ReportsVersionAtLeast210()
    {
        var info = Torch.Info;
        Assert.That(info.AbiVersion, Is.GreaterThanOrEqualTo(0x020A000000000000UL));
        Assert.That(info.Attempts, Has.Some.Contains("loaded"));
        Assert.That(Torch.GradModeEnabled, Is.False, "grad mode is off by default");
    }
}
