using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Tests.Checkpoints;

public class SafeTensorsErrorTests : TempDirFixture
{
    [Test]
    public void Open_MissingFile_NamesThePath()
    {
        string path = Path.Combine(Dir, "nope.safetensors");
        var ex = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("does not exist"));
        Assert.That(ex.FilePath, Is.EqualTo(path));
    }

    [TestCase(0)]
    [TestCase(5)]
    public void Open_FileShorterThanLengthPrefix_SaysTooShort(int length)
    {
        string path = Path.Combine(Dir, "short.safetensors");
        File.WriteAllBytes(path, new byte[length]);
        var ex = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain($"{length} bytes long").And.Contain("too short"));
    }

    [Test]
    public void Open_HeaderLengthBeyondFileSize_SaysTruncated()
    {
        string path = RawSafeTensors.Write(Dir, "trunc.safetensors", "{}", [], declaredHeaderLength: 1000);
        var ex = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(path));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("1000-byte header").And.Contain("only 2 bytes").And.Contain("truncated"));
    }

    [Test]
    public void Open_HeaderLengthOverFormatLimit_SaysNotSafetensors()
    {
        string path = Path.Combine(Dir, "huge.safetensors");
        using (var stream = File.Create(path))
        {
            // A declared 200 MB header inside a file that really is that large: only the format's cap rejects it.
            stream.Write(BitConverter.GetBytes(200_000_000UL));
            stream.SetLength(8 + 200_000_000L);
        }
        var ex = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(path));
        Assert.That(ex!.Message, Does.Contain("200000000-byte header").And.Contain("limit of 100000000 bytes"));
    }

    [Test]
    public void Names_HeaderNotJson_SaysInvalidJson()
    {
        string path = RawSafeTensors.Write(Dir, "bad.safetensors", "{\"a\": [1, ", []);
        using var file = SafeTensorsFile.Open(path);
        var ex = Assert.Throws<CheckpointException>(() => _ = file.Names);
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("not valid JSON"));
        Assert.That(ex.InnerException, Is.Not.Null);
    }

    [Test]
    public void Names_HeaderIsAnArray_SaysNotAnObject()
    {
        string path = RawSafeTensors.Write(Dir, "array.safetensors", "[]      ", []);
        using var file = SafeTensorsFile.Open(path);
        var ex = Assert.Throws<CheckpointException>(() => _ = file.Names);
        Assert.That(ex!.Message, Does.Contain("not an object"));
    }

    [Test]
    public void GetInfo_UnknownDType_ListsSupportedCodes()
    {
        string path = RawSafeTensors.Write(Dir, "fp8.safetensors",
            "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2]);
        using var file = SafeTensorsFile.Open(path);
        var ex = Assert.Throws<CheckpointException>(() => file.GetInfo("w"));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("'w'").And.Contain("F8_E4M3").And.Contain("F32, F16, BF16"));
    }

    [Test]
    public void GetInfo_DataOffsetsBeyondFile_SaysOutsideDataSection()
    {
        string path = RawSafeTensors.Write(Dir, "range.safetensors",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", new byte[8]);
        using var file = SafeTensorsFile.Open(path);
        var ex = Assert.Throws<CheckpointException>(() => file.GetInfo("w"));
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("[0,16]").And.Contain("outside the data section of 8 bytes"));
    }

    [Test]
    public void GetInfo_OffsetsDisagreeWithShapeAndDType_GivesBothSizes()
    {
        string path = RawSafeTensors.Write(Dir, "size.safetensors",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", new byte[24]);
        using var file = SafeTensorsFile.Open(path);
        var ex = Assert.Throws<CheckpointException>(() => file.GetInfo("w"));
        Assert.That(ex!.Message, Does.Contain("[2,3] F32").And.Contain("needs 24 bytes").And.Contain("span 20 bytes"));
    }

    [Test]
    public void GetInfo_ReversedOffsets_SaysOutsideDataSection()
    {
        string path = RawSafeTensors.Write(Dir, "rev.safetensors",
            "{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,2]}}", new byte[8]);
        using var file = SafeTensorsFile.Open(path);
        var ex = Assert.Throws<CheckpointException>(() => file.GetInfo("w"));
        Assert.That(ex!.Message, Does.Contain("[4,2]"));
    }

    [Test]
    public void GetInfo_NegativeShape_SaysNotNonNegativeIntegers()
    {
        string path = RawSafeTensors.Write(Dir, "neg.safetensors",
            "{\"w\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}", []);
        using var file = SafeTensorsFile.Open(path);
        var ex = Assert.Throws<CheckpointException>(() => file.GetInfo("w"));
        Assert.That(ex!.Message, Does.Contain("'shape' [-1]").And.Contain("non-negative integers"));
    }

    [Test]
    public void GetInfo_MissingDType_SaysWhichTensor()
    {
        string path = RawSafeTensors.Write(Dir, "nodtype.safetensors", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[1]);
        using var file = SafeTensorsFile.Open(path);
        var ex = Assert.Throws<CheckpointException>(() => file.GetInfo("w"));
        Assert.That(ex!.Message, Does.Contain("tensor 'w' has no string 'dtype'"));
    }

    [Test]
    public void GetInfo_UnknownName_ListsCloseNames()
    {
        using var file = SafeTensorsFile.Open(Path.Combine(TestPaths.Fixture("llama"), "model.safetensors"));
        var ex = Assert.Throws<CheckpointException>(() => file.GetInfo("model.embed_token.weight"));
        Assert.That(ex!.Message, Does.Contain("no tensor named 'model.embed_token.weight'")
            .And.Contain("Closest names: 'model.embed_tokens.weight'"));
    }
}
