using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Tests.Checkpoints;

public class SafeTensorsFileTests
{
    private static string LlamaModel => Path.Combine(TestPaths.Fixture("llama"), "model.safetensors");
    private static string LlamaReference => Path.Combine(TestPaths.Fixture("llama"), "reference.safetensors");

    [Test]
    public void Open_LlamaModel_ListsEveryWeightWithShapeAndDType()
    {
        using var file = SafeTensorsFile.Open(LlamaModel);
        // 2 layers × 9 tensors, plus embeddings, final norm and the untied LM head.
        Assert.That(file.Names, Has.Count.EqualTo(21));
        Assert.That(file.Names, Does.Contain("lm_head.weight").And.Contain("model.norm.weight").And.Contain("model.layers.1.self_attn.v_proj.weight"));
        Assert.That(file.Metadata, Does.ContainKey("format").WithValue("pt"));
        var embed = file.GetInfo("model.embed_tokens.weight");
        Assert.That(embed.Shape, Is.EqualTo(new long[] { 2048, 64 }));
        Assert.That(embed.DType, Is.EqualTo(DType.Float32));
        Assert.That(embed.DTypeCode, Is.EqualTo("F32"));
        Assert.That(embed.ByteLength, Is.EqualTo(2048 * 64 * 4));
        Assert.That(file.GetInfo("model.layers.0.self_attn.k_proj.weight").Shape, Is.EqualTo(new long[] { 32, 64 }));
        Assert.That(file.GetInfo("model.layers.0.mlp.down_proj.weight").Shape, Is.EqualTo(new long[] { 64, 160 }));
    }

    [Test]
    public void Tensors_LlamaModel_CoverTheDataSectionExactly()
    {
        using var file = SafeTensorsFile.Open(LlamaModel);
        var tensors = file.Tensors.OrderBy(t => t.DataStart).ToList();
        Assert.That(file.DataOffset % 8, Is.Zero);
        Assert.That(tensors[0].DataStart, Is.Zero);
        for (int i = 1; i < tensors.Count; i++) Assert.That(tensors[i].DataStart, Is.EqualTo(tensors[i - 1].DataEnd), tensors[i].Name);
        Assert.That(file.DataOffset + tensors[^1].DataEnd, Is.EqualTo(file.FileLength));
    }

    [Test]
    public void Load_EmbedTokens_ReturnsStoredBytesAsCpuTensor()
    {
        using var file = SafeTensorsFile.Open(LlamaModel);
        using var t = file.Load("model.embed_tokens.weight");
        Assert.That(t.Shape, Is.EqualTo(new long[] { 2048, 64 }));
        Assert.That(t.DType, Is.EqualTo(DType.Float32));
        Assert.That(t.Device, Is.EqualTo(Device.Cpu));
        Assert.That(t.ToBytes(), Is.EqualTo(file.ReadBytes("model.embed_tokens.weight")));
        var values = t.ToArray<float>();
        Assert.That(values.All(float.IsFinite), Is.True);
        Assert.That(values.Distinct().Count(), Is.GreaterThan(1000), "random weights, not a constant fill");
    }

    [Test]
    public void Load_NormWeight_IsPerturbedFromOnes()
    {
        using var file = SafeTensorsFile.Open(LlamaModel);
        using var t = file.Load("model.norm.weight");
        var values = t.ToArray<float>();
        Assert.That(values, Has.Length.EqualTo(64));
        Assert.That(values.Any(v => v != 1f), Is.True);
        Assert.That(values.Average(), Is.EqualTo(1.0).Within(0.5));
    }

    [Test]
    public void Open_Reference_HasInputsLogitsAndLoss()
    {
        using var file = SafeTensorsFile.Open(LlamaReference);
        Assert.That(file.Metadata, Is.Empty);
        var ids = file.GetInfo("input_ids");
        Assert.That(ids.Shape, Is.EqualTo(new long[] { 2, 24 }));
        Assert.That(ids.DType, Is.EqualTo(DType.Int64));
        Assert.That(file.GetInfo("logits").Shape, Is.EqualTo(new long[] { 2, 24, 2048 }));
        Assert.That(file.GetInfo("logits").DType, Is.EqualTo(DType.Float32));
        Assert.That(file.GetInfo("loss").Shape, Is.EqualTo(new long[] { 1 }));
        Assert.That(file.GetInfo("generate_greedy").Shape, Is.EqualTo(new long[] { 1, 20 }));
        using var tokens = file.Load("input_ids");
        Assert.That(tokens.ToArray<long>(), Has.All.InRange(0L, 2047L));
        using var loss = file.Load("loss");
        // Random weights over a 2048-token vocabulary: the loss is near ln(2048) ≈ 7.6.
        Assert.That(loss.ToDouble(), Is.InRange(5.0, 10.0));
    }

    [Test]
    public void Load_InSlicesSmallerThanTheTensor_MatchesSingleRead()
    {
        using var file = SafeTensorsFile.Open(LlamaReference);
        using var whole = file.Load("logits");
        // 2 × 24 × 2048 floats; 200 000 bytes per read forces one slice per batch row.
        using var sliced = file.Load("logits", maxReadBytes: 200_000);
        Assert.That(sliced.Shape, Is.EqualTo(whole.Shape));
        Assert.That(sliced.ToBytes(), Is.EqualTo(whole.ToBytes()));
    }

    [Test]
    public void ReadBytes_WrongDestinationLength_Throws()
    {
        using var file = SafeTensorsFile.Open(LlamaModel);
        var ex = Assert.Throws<ArgumentException>(() => file.ReadBytes("model.norm.weight", new byte[10]));
        Assert.That(ex!.Message, Does.Contain("256 bytes"));
    }

    [Test]
    public void Load_AfterDispose_ThrowsObjectDisposed()
    {
        var file = SafeTensorsFile.Open(LlamaModel);
        _ = file.Names;
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.Load("model.norm.weight"));
    }
}
