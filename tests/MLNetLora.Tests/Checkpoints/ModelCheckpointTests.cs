using System.Text.Json;
using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Tests.Checkpoints;

public class ModelCheckpointTests : TempDirFixture
{
    private static readonly long[] EmbedShape = [2048, 64];
    [Test]
    public void Open_SingleFileFixture_LoadsWeights()
    {
        using var checkpoint = ModelCheckpoint.Open(TestPaths.Fixture("qwen2"));
        Assert.That(checkpoint.Files, Has.Count.EqualTo(1));
        Assert.That(checkpoint.Names, Has.Count.EqualTo(26));
        Assert.That(checkpoint.Contains("model.layers.0.self_attn.q_proj.bias"), Is.True);
        // Tied embeddings: transformers saves no separate LM head.
        Assert.That(checkpoint.Contains("lm_head.weight"), Is.False);
        using var embed = checkpoint.Load("model.embed_tokens.weight", EmbedShape);
        Assert.That(embed.Shape, Is.EqualTo(EmbedShape));
        Assert.That(checkpoint.GetInfo("model.layers.1.self_attn.k_proj.bias").Shape, Is.EqualTo(new long[] { 32 }));
    }

    [Test]
    public void Open_ShardedCheckpoint_LoadsEachTensorFromItsShard()
    {
        string fixture = Path.Combine(TestPaths.Fixture("llama"), "model.safetensors");
        using var original = SafeTensorsFile.Open(fixture);
        var names = original.Names.ToList();
        var first = names.Take(10).ToList();
        var second = names.Skip(10).ToList();
        WriteShard(original, first, "model-00001-of-00002.safetensors");
        WriteShard(original, second, "model-00002-of-00002.safetensors");
        WriteIndex(first.Select(n => (n, "model-00001-of-00002.safetensors"))
            .Concat(second.Select(n => (n, "model-00002-of-00002.safetensors"))));

        using var checkpoint = ModelCheckpoint.Open(Dir);

        Assert.That(string.Join(" ", checkpoint.Files.Select(Path.GetFileName)), Is.EqualTo("model-00001-of-00002.safetensors model-00002-of-00002.safetensors"));
        Assert.That(checkpoint.Names, Is.EqualTo(names));
        foreach (string name in (string[])[first[0], first[^1], second[0], second[^1]])
        {
            using var loaded = checkpoint.Load(name);
            Assert.That(loaded.ToBytes(), Is.EqualTo(original.ReadBytes(name)), name);
        }
    }

    [Test]
    public void Open_IndexAndSingleFileBothPresent_PrefersTheIndex()
    {
        using var t = Tensor.FromArray(new float[] { 1, 2 });
        SafeTensorsWriter.Write(Path.Combine(Dir, "shard.safetensors"), [new("sharded", t)]);
        SafeTensorsWriter.Write(Path.Combine(Dir, "model.safetensors"), [new("single", t)]);
        WriteIndex([("sharded", "shard.safetensors")]);

        using var checkpoint = ModelCheckpoint.Open(Dir);

        Assert.That(checkpoint.Names.Single(), Is.EqualTo("sharded"));
    }

    [Test]
    public void Load_ExpectedShapeDiffers_ThrowsWithBothShapes()
    {
        using var checkpoint = ModelCheckpoint.Open(TestPaths.Fixture("llama"));
        var ex = Assert.Throws<CheckpointException>(() => checkpoint.Load("model.embed_tokens.weight", [2048, 128]));
        Assert.That(ex!.Message, Does.Contain("'model.embed_tokens.weight' has shape [2048,64] but the config expects [2048,128]"));
    }

    [Test]
    public void Load_UnknownName_ListsCloseNames()
    {
        using var checkpoint = ModelCheckpoint.Open(TestPaths.Fixture("llama"));
        var ex = Assert.Throws<CheckpointException>(() => checkpoint.Load("model.layers.0.self_attn.q_proj.bias"));
        Assert.That(ex!.Message, Does.Contain("no tensor named 'model.layers.0.self_attn.q_proj.bias'")
            .And.Contain("'model.layers.0.self_attn.q_proj.weight'"));
    }

    [Test]
    public void Open_MissingFolder_SaysWhichFilesAreExpected()
    {
        string missing = Path.Combine(Dir, "nope");
        var ex = Assert.Throws<CheckpointException>(() => ModelCheckpoint.Open(missing));
        Assert.That(ex!.Message, Does.Contain(missing).And.Contain("does not exist")
            .And.Contain("model.safetensors").And.Contain("model.safetensors.index.json"));
    }

    [Test]
    public void Open_FolderWithoutSafetensors_ListsExpectedAndFoundFiles()
    {
        File.WriteAllText(Path.Combine(Dir, "config.json"), "{}");
        File.WriteAllText(Path.Combine(Dir, "pytorch_model.bin"), "");
        var ex = Assert.Throws<CheckpointException>(() => ModelCheckpoint.Open(Dir));
        Assert.That(ex!.Message, Does.Contain("neither model.safetensors nor model.safetensors.index.json")
            .And.Contain("Found: config.json, pytorch_model.bin").And.Contain("converted to safetensors"));
    }

    [Test]
    public void Open_IndexNamesMissingShard_ListsIt()
    {
        WriteIndex([("a", "model-00001-of-00002.safetensors"), ("b", "model-00002-of-00002.safetensors")]);
        var ex = Assert.Throws<CheckpointException>(() => ModelCheckpoint.Open(Dir));
        Assert.That(ex!.Message, Does.Contain("2 are missing").And.Contain("model-00001-of-00002.safetensors"));
    }

    [Test]
    public void Load_ShardLacksIndexedTensor_SaysIndexAndShardDisagree()
    {
        using var t = Tensor.FromArray(new float[] { 1 });
        SafeTensorsWriter.Write(Path.Combine(Dir, "shard.safetensors"), [new("a", t)]);
        WriteIndex([("a", "shard.safetensors"), ("b", "shard.safetensors")]);
        using var checkpoint = ModelCheckpoint.Open(Dir);
        var ex = Assert.Throws<CheckpointException>(() => checkpoint.Load("b"));
        Assert.That(ex!.Message, Does.Contain("places tensor 'b' in 'shard.safetensors'").And.Contain("no such tensor"));
    }

    [Test]
    public void Open_IndexWithoutWeightMap_Throws()
    {
        File.WriteAllText(Path.Combine(Dir, ModelCheckpoint.IndexFileName), "{\"metadata\": {}}");
        var ex = Assert.Throws<CheckpointException>(() => ModelCheckpoint.Open(Dir));
        Assert.That(ex!.Message, Does.Contain("no \"weight_map\""));
    }

    [Test]
    public void Open_IndexNotJson_Throws()
    {
        File.WriteAllText(Path.Combine(Dir, ModelCheckpoint.IndexFileName), "{ weight_map");
        var ex = Assert.Throws<CheckpointException>(() => ModelCheckpoint.Open(Dir));
        Assert.That(ex!.Message, Does.Contain(ModelCheckpoint.IndexFileName).And.Contain("not valid JSON"));
    }

    [Test]
    public void Open_IndexPointsOutsideFolder_Throws()
    {
        WriteIndex([("a", "../elsewhere/model.safetensors")]);
        var ex = Assert.Throws<CheckpointException>(() => ModelCheckpoint.Open(Dir));
        Assert.That(ex!.Message, Does.Contain("not a file name in the model folder"));
    }

    private void WriteShard(SafeTensorsFile source, List<string> names, string fileName)
    {
        var tensors = names.Select(n => new KeyValuePair<string, Tensor>(n, source.Load(n))).ToList();
        try
        {
            SafeTensorsWriter.Write(Path.Combine(Dir, fileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
    }

    private void WriteIndex(IEnumerable<(string Name, string File)> map)
    {
        var index = new Dictionary<string, object>
        {
            ["metadata"] = new Dictionary<string, long> { ["total_size"] = 0 },
            ["weight_map"] = map.ToDictionary(e => e.Name, e => e.File),
        };
        File.WriteAllText(Path.Combine(Dir, ModelCheckpoint.IndexFileName), JsonSerializer.Serialize(index));
    }
}
