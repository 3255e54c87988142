using System.Text.Json.Nodes;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Tests.Checkpoints;

public class ModelConfigSerializationTests
{
    [TestCase("llama")]
    [TestCase("qwen2")]
    public void ToJson_Unchanged_ReproducesEveryKeyAndValue(string fixture)
    {
        string original = File.ReadAllText(Path.Combine(TestPaths.Fixture(fixture), "config.json"));
        var c = ModelConfig.Parse(original);

        string json = c.ToJson();

        Assert.That(JsonNode.DeepEquals(JsonNode.Parse(json), JsonNode.Parse(original)), Is.True, json);
        Assert.That(json, Does.EndWith("}\n"));
    }

    [Test]
    public void ToJson_UnknownKeys_SurviveARoundTripWithChanges()
    {
        string source = ConfigSamples.Minimal("llama",
            "\"my_custom\": {\"nested\": [1, 2.5, \"x\"]}, \"quantization_config\": {\"bits\": 4}, \"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 2.0, \"extra\": true}");
        var c = ModelConfig.Parse(source) with { VocabSize = 128, Rope = ModelConfig.Parse(source).Rope with { Factor = 4 } };

        var root = JsonNode.Parse(c.ToJson())!.AsObject();

        Assert.That(JsonNode.DeepEquals(root["my_custom"], JsonNode.Parse("{\"nested\": [1, 2.5, \"x\"]}")), Is.True);
        Assert.That(root["quantization_config"]!["bits"]!.GetValue<int>(), Is.EqualTo(4));
        Assert.That(root["vocab_size"]!.GetValue<int>(), Is.EqualTo(128));
        Assert.That(root["rope_scaling"]!["factor"]!.GetValue<double>(), Is.EqualTo(4.0));
        Assert.That(root["rope_scaling"]!["extra"]!.GetValue<bool>(), Is.True, "unknown keys inside the RoPE object survive too");
    }

    [Test]
    public void ToJson_ChangedValues_ParseBackToTheSameConfig()
    {
        var c = ModelConfig.Parse(ConfigSamples.Llama31) with
        {
            NumHiddenLayers = 2,
            NumKeyValueHeads = 4,
            RmsNormEps = 1e-6,
            TieWordEmbeddings = true,
            EosTokenIds = [7],
            PadTokenId = 3,
            TorchDtype = "float32",
            Id2Label = new Dictionary<int, string> { [0] = "no", [1] = "yes" },
            Label2Id = new Dictionary<string, int> { ["no"] = 0, ["yes"] = 1 },
            NumLabels = 2,
        };

        var back = ModelConfig.Parse(c.ToJson());

        Assert.That((back.NumHiddenLayers, back.NumKeyValueHeads, back.RmsNormEps, back.TieWordEmbeddings), Is.EqualTo((2, 4, 1e-6, true)));
        Assert.That(back.EosTokenIds, Is.EqualTo((int[])[7]));
        Assert.That((back.PadTokenId, back.TorchDtype, back.NumLabels), Is.EqualTo(((int?)3, "float32", (int?)2)));
        Assert.That(back.Id2Label![1], Is.EqualTo("yes"));
        Assert.That(back.Rope, Is.EqualTo(c.Rope));
        Assert.That(back, Is.EqualTo(c));
        var root = JsonNode.Parse(c.ToJson())!.AsObject();
        Assert.That(root["torch_dtype"]!.GetValue<string>(), Is.EqualTo("float32"), "the dtype key keeps its original spelling");
        Assert.That(root.ContainsKey("dtype"), Is.False);
        Assert.That(root["eos_token_id"]!.GetValueKind(), Is.EqualTo(System.Text.Json.JsonValueKind.Number));
    }

    [Test]
    public void ToJson_ChangedRopeInNewStyle_StaysInRopeParameters()
    {
        var c = ModelConfig.Load(TestPaths.Fixture("llama"));
        var changed = c with { Rope = c.Rope with { RopeType = "linear", Theta = 20000, Factor = 2 } };

        var root = JsonNode.Parse(changed.ToJson())!.AsObject();

        Assert.That(root.ContainsKey("rope_scaling"), Is.False);
        Assert.That(root.ContainsKey("rope_theta"), Is.False);
        Assert.That(JsonNode.DeepEquals(root["rope_parameters"], JsonNode.Parse("{\"rope_theta\": 20000.0, \"rope_type\": \"linear\", \"factor\": 2.0}")), Is.True,
            root["rope_parameters"]!.ToJsonString());
        Assert.That(ModelConfig.Parse(changed.ToJson()).Rope, Is.EqualTo(changed.Rope));
    }

    [Test]
    public void ToJson_ChangedRopeInOldStyle_WritesRopeThetaAndRopeScaling()
    {
        var c = ModelConfig.Parse(ConfigSamples.Llama31);
        var changed = c with { Rope = c.Rope with { Theta = 1_000_000, Factor = 16 } };

        var root = JsonNode.Parse(changed.ToJson())!.AsObject();

        Assert.That(root["rope_theta"]!.GetValue<double>(), Is.EqualTo(1_000_000));
        Assert.That(root["rope_scaling"]!["factor"]!.GetValue<double>(), Is.EqualTo(16));
        Assert.That(root["rope_scaling"]!["rope_type"]!.GetValue<string>(), Is.EqualTo("llama3"));
        Assert.That(root.ContainsKey("rope_parameters"), Is.False);
        Assert.That(ModelConfig.Parse(changed.ToJson()).Rope, Is.EqualTo(changed.Rope));
    }

    [Test]
    public void ToJson_RopeScalingRemoved_WritesNullLikeTransformers()
    {
        var c = ModelConfig.Parse(ConfigSamples.Llama31);
        var plain = c with { Rope = new RopeParameters { Theta = 500000 } };

        var root = JsonNode.Parse(plain.ToJson())!.AsObject();

        Assert.That(root.ContainsKey("rope_scaling"), Is.True);
        Assert.That(root["rope_scaling"], Is.Null);
        Assert.That(ModelConfig.Parse(plain.ToJson()).Rope, Is.EqualTo(plain.Rope));
    }

    [Test]
    public void ToJson_QwenWindowEnabled_SetsUseSlidingWindow()
    {
        var c = ModelConfig.Load(TestPaths.Fixture("qwen2")) with { SlidingWindow = 32 };

        var back = ModelConfig.Parse(c.ToJson());

        Assert.That(back.SlidingWindow, Is.EqualTo(32));
        Assert.That(JsonNode.Parse(c.ToJson())!["use_sliding_window"]!.GetValue<bool>(), Is.True);
    }

    [Test]
    public void ToJson_Phi3OriginalContextChanged_StaysAtTopLevel()
    {
        var c = ModelConfig.Parse(ConfigSamples.Phi3Partial);
        var changed = c with { Rope = c.Rope with { OriginalMaxPositionEmbeddings = 8192 }, PartialRotaryFactor = 0.5 };

        var root = JsonNode.Parse(changed.ToJson())!.AsObject();

        Assert.That(root["original_max_position_embeddings"]!.GetValue<int>(), Is.EqualTo(8192));
        Assert.That(root["partial_rotary_factor"]!.GetValue<double>(), Is.EqualTo(0.5));
        Assert.That(root["rope_scaling"], Is.Null, "no scaling object is needed for unscaled RoPE");
        var back = ModelConfig.Parse(changed.ToJson());
        Assert.That((back.Rope.OriginalMaxPositionEmbeddings, back.RotaryDim), Is.EqualTo(((int?)8192, 64)));
    }

    [Test]
    public void Save_ThenLoad_RoundTripsAndLeavesOnlyConfigJson()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            var c = ModelConfig.Parse(ConfigSamples.Llama31) with { VocabSize = 32000 };

            c.Save(dir);

            Assert.That(Path.GetFileName(Directory.GetFiles(dir).Single()), Is.EqualTo("config.json"));
            var back = ModelConfig.Load(dir);
            Assert.That(back, Is.EqualTo(c));
            Assert.That(back.VocabSize, Is.EqualTo(32000));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Equals_SameJsonDifferentInstances_AreEqual()
    {
        var a = ModelConfig.Parse(ConfigSamples.Llama31);
        var b = ModelConfig.Parse(ConfigSamples.Llama31);
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
        Assert.That(a with { HiddenSize = 8 }, Is.Not.EqualTo(b));
        Assert.That(a.ToString(), Does.Contain("llama").And.Contain("hidden 4096").And.Contain("llama3"));
    }
}
