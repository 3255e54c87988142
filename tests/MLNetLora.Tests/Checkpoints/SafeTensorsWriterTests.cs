using System.Text.Json;
using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Tests.Checkpoints;

public class SafeTensorsWriterTests : TempDirFixture
{
    [TestCase(DType.Float32)]
    [TestCase(DType.BFloat16)]
    [TestCase(DType.Float16)]
    [TestCase(DType.Int64)]
    [TestCase(DType.Float64)]
    [TestCase(DType.Int32)]
    [TestCase(DType.Int16)]
    [TestCase(DType.Int8)]
    [TestCase(DType.UInt8)]
    [TestCase(DType.Bool)]
    public void Write_ThenOpen_RoundTripsDTypeShapeBytesAndMetadata(DType dtype)
    {
        using var source = Tensor.FromArray(new double[] { 0, 1, -2, 3, 1, 0, 5, -1, 2, 1, 0, 7 }, 3, 4);
        // Unsigned and boolean types cannot hold the negative entries.
        using var nonNegative = source.Abs();
        using var values = (dtype is DType.UInt8 or DType.Bool ? nonNegative : source).To(dtype);
        using var ones = Tensor.Ones([5], dtype);
        string path = Path.Combine(Dir, "t.safetensors");
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode ok" };

        SafeTensorsWriter.Write(path, [new("values", values), new("ones", ones)], metadata);

        using var file = SafeTensorsFile.Open(path);
        Assert.That(string.Join(",", file.Names), Is.EqualTo("values,ones"));
        Assert.That(file.Metadata, Is.EqualTo(metadata));
        var info = file.GetInfo("values");
        Assert.That(info.DType, Is.EqualTo(dtype));
        Assert.That(info.Shape, Is.EqualTo(new long[] { 3, 4 }));
        using var loaded = file.Load("values");
        Assert.That(loaded.DType, Is.EqualTo(dtype));
        Assert.That(loaded.ToBytes(), Is.EqualTo(values.ToBytes()));
        using var loadedOnes = file.Load("ones");
        Assert.That(loadedOnes.ToArray<double>(), Is.All.EqualTo(1.0));
    }

    [Test]
    public void Write_SeveralTensors_PadsHeaderToEightBytesAndPacksDataInOrder()
    {
        using var a = Tensor.FromArray(new float[] { 1, 2, 3 });
        using var b = Tensor.FromArray(new long[] { 7 });
        using var cFloat = Tensor.FromArray(new float[] { 4, 5 });
        using var c = cFloat.To(DType.BFloat16);
        string path = Path.Combine(Dir, "t.safetensors");

        SafeTensorsWriter.Write(path, [new("a", a), new("b", b), new("c", c)]);

        var (headerLength, header) = RawSafeTensors.ReadHeader(path);
        Assert.That(headerLength % 8, Is.Zero);
        Assert.That(header, Does.Not.Contain("__metadata__"), "no metadata entry when none is given");
        Assert.That(header.TrimEnd(' '), Does.EndWith("}"), "padding is spaces after the JSON");
        using var doc = JsonDocument.Parse(header);
        Assert.That(doc.RootElement.GetProperty("a").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()), Is.EqualTo(new long[] { 0, 12 }));
        Assert.That(doc.RootElement.GetProperty("b").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()), Is.EqualTo(new long[] { 12, 20 }));
        Assert.That(doc.RootElement.GetProperty("c").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()), Is.EqualTo(new long[] { 20, 24 }));
        Assert.That(doc.RootElement.GetProperty("c").GetProperty("dtype").GetString(), Is.EqualTo("BF16"));
        Assert.That(new FileInfo(path).Length, Is.EqualTo(8 + (long)headerLength + 24));
    }

    [Test]
    public void Write_FixtureModelTensors_ReproducesTheDataSectionByteForByte()
    {
        string fixture = Path.Combine(TestPaths.Fixture("llama"), "model.safetensors");
        string path = Path.Combine(Dir, "copy.safetensors");
        using (var original = SafeTensorsFile.Open(fixture))
        {
            var names = original.Tensors.OrderBy(t => t.DataStart).Select(t => t.Name).ToList();
            var tensors = names.Select(n => new KeyValuePair<string, Tensor>(n, original.Load(n))).ToList();
            try
            {
                SafeTensorsWriter.Write(path, tensors, original.Metadata);
            }
            finally
            {
                foreach (var (_, t) in tensors) t.Dispose();
            }
            using var copy = SafeTensorsFile.Open(path);
            Assert.That(copy.Names, Is.EqualTo(names));
            Assert.That(copy.Metadata, Is.EqualTo(original.Metadata));
            byte[] a = File.ReadAllBytes(fixture)[(int)original.DataOffset..];
            byte[] b = File.ReadAllBytes(path)[(int)copy.DataOffset..];
            Assert.That(b, Is.EqualTo(a));
        }
    }

    [Test]
    public void Write_NonContiguousTensor_StoresRowMajorValues()
    {
        using var m = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        using var transposed = m.T();
        string path = Path.Combine(Dir, "t.safetensors");

        SafeTensorsWriter.Write(path, [new("t", transposed)]);

        using var file = SafeTensorsFile.Open(path);
        using var loaded = file.Load("t");
        Assert.That(loaded.Shape, Is.EqualTo(new long[] { 3, 2 }));
        Assert.That(loaded.ToArray<float>(), Is.EqualTo(new float[] { 1, 4, 2, 5, 3, 6 }));
    }

    [Test]
    public void Write_ScalarAndEmptyTensors_RoundTrip()
    {
        using var scalar = Tensor.Scalar(2.5, DType.Float32);
        using var empty = Tensor.Zeros([0, 3]);
        string path = Path.Combine(Dir, "t.safetensors");

        SafeTensorsWriter.Write(path, [new("scalar", scalar), new("empty", empty)]);

        using var file = SafeTensorsFile.Open(path);
        Assert.That(file.GetInfo("scalar").Shape, Is.Empty);
        Assert.That(file.GetInfo("empty").Shape, Is.EqualTo(new long[] { 0, 3 }));
        Assert.That(file.GetInfo("empty").ByteLength, Is.Zero);
        using var s = file.Load("scalar");
        Assert.That(s.ToDouble(), Is.EqualTo(2.5));
        using var e = file.Load("empty");
        Assert.That(e.Shape, Is.EqualTo(new long[] { 0, 3 }));
    }

    [Test]
    public void Write_TensorLargerThanOneSlice_WritesEverySlice()
    {
        var values = Enumerable.Range(0, 7 * 5).Select(i => (float)i).ToArray();
        using var t = Tensor.FromArray(values, 7, 5);
        string path = Path.Combine(Dir, "t.safetensors");

        // 40 bytes per slice = 2 rows of 5 floats, so 7 rows take 4 slices, the last one short.
        SafeTensorsWriter.Write(path, [new("t", t)], null, sliceBytes: 40);

        using var file = SafeTensorsFile.Open(path);
        using var loaded = file.Load("t");
        Assert.That(loaded.ToArray<float>(), Is.EqualTo(values));
    }

    [Test]
    public void Write_OverExistingFile_ReplacesItAndLeavesNoTemporaryFile()
    {
        string path = Path.Combine(Dir, "t.safetensors");
        File.WriteAllText(path, "old content");
        using var t = Tensor.FromArray(new float[] { 1, 2 });

        SafeTensorsWriter.Write(path, [new("t", t)]);

        Assert.That(Directory.GetFiles(Dir).Single(), Is.EqualTo(path));
        using var file = SafeTensorsFile.Open(path);
        Assert.That(file.Names.Single(), Is.EqualTo("t"));
    }

    [Test]
    public void Write_IntoMissingFolder_CreatesIt()
    {
        string path = Path.Combine(Dir, "sub", "folder", "t.safetensors");
        using var t = Tensor.FromArray(new float[] { 1 });

        SafeTensorsWriter.Write(path, [new("t", t)]);

        Assert.That(File.Exists(path), Is.True);
    }

    [Test]
    public void Write_DuplicateName_ThrowsAndWritesNothing()
    {
        using var t = Tensor.FromArray(new float[] { 1 });
        string path = Path.Combine(Dir, "t.safetensors");
        var ex = Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [new("x", t), new("x", t)]));
        Assert.That(ex!.Message, Does.Contain("'x' appears twice"));
        Assert.That(Directory.GetFiles(Dir), Is.Empty);
    }

    [Test]
    public void Write_ReservedMetadataName_Throws()
    {
        using var t = Tensor.FromArray(new float[] { 1 });
        var ex = Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(Path.Combine(Dir, "t.safetensors"), [new("__metadata__", t)]));
        Assert.That(ex!.Message, Does.Contain("reserved"));
    }

    [Test]
    public void Write_DisposedTensor_Throws()
    {
        var t = Tensor.FromArray(new float[] { 1 });
        t.Dispose();
        var ex = Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(Path.Combine(Dir, "t.safetensors"), [new("gone", t)]));
        Assert.That(ex!.Message, Does.Contain("'gone'").And.Contain("disposed"));
    }
}
