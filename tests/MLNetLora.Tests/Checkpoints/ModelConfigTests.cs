using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Tests.Checkpoints;

public class ModelConfigTests
{
    [Test]
    public void Load_LlamaFixture_ReadsEveryModelledKey()
    {
        var c = ModelConfig.Load(TestPaths.Fixture("llama"));
        Assert.That(c.ModelType, Is.EqualTo("llama"));
        Assert.That(c.Architectures, Is.EqualTo((string[])["LlamaForCausalLM"]));
        Assert.That((c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers), Is.EqualTo((64, 160, 2)));
        Assert.That((c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim), Is.EqualTo((4, 2, 16)));
        Assert.That(c.VocabSize, Is.EqualTo(2048));
        Assert.That(c.RmsNormEps, Is.EqualTo(1e-5));
        Assert.That(c.MaxPositionEmbeddings, Is.EqualTo(512));
        Assert.That(c.TieWordEmbeddings, Is.False);
        Assert.That((c.HasQkvBias, c.HasOutputProjectionBias, c.HasMlpBias), Is.EqualTo((false, false, false)));
        Assert.That(c.HiddenAct, Is.EqualTo("silu"));
        Assert.That(c.TorchDtype, Is.EqualTo("float32"));
        Assert.That(c.WeightDType, Is.EqualTo(DType.Float32));
        Assert.That((c.BosTokenId, c.PadTokenId), Is.EqualTo(((int?)0, (int?)2)));
        Assert.That(c.EosTokenIds, Is.EqualTo((int[])[1]));
        Assert.That(c.Rope, Is.EqualTo(new RopeParameters { RopeType = "default", Theta = 10000 }));
        Assert.That(c.PartialRotaryFactor, Is.EqualTo(1.0));
        Assert.That(c.RotaryDim, Is.EqualTo(16));
        Assert.That(c.SlidingWindow, Is.Null);
        Assert.That(c.NumLabels, Is.Null);
    }

    [Test]
    public void Load_Qwen2Fixture_HasQkvBiasTiedEmbeddingsAndNoWindow()
    {
        var c = ModelConfig.Load(TestPaths.Fixture("qwen2"));
        Assert.That(c.ModelType, Is.EqualTo("qwen2"));
        Assert.That(c.HeadDim, Is.EqualTo(16), "hidden_size / num_attention_heads when head_dim is absent");
        Assert.That(c.HasQkvBias, Is.True, "Qwen2 always has q/k/v biases even without attention_bias");
        Assert.That(c.HasOutputProjectionBias, Is.False);
        Assert.That(c.TieWordEmbeddings, Is.True);
        Assert.That(c.Rope.Theta, Is.EqualTo(1_000_000));
        Assert.That(c.SlidingWindow, Is.Null);
        Assert.That(c.AttentionWindow(1), Is.Null);
    }

    [Test]
    public void Load_ConfigFilePath_ReadsThatFile()
    {
        var c = ModelConfig.Load(Path.Combine(TestPaths.Fixture("llama"), "config.json"));
        Assert.That(c.ModelType, Is.EqualTo("llama"));
    }

    [Test]
    public void Parse_Llama31_ReadsLegacyRopeScalingAndEosList()
    {
        var c = ModelConfig.Parse(ConfigSamples.Llama31);
        Assert.That(c.Rope, Is.EqualTo(new RopeParameters
        {
            RopeType = "llama3", Theta = 500000, Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192,
        }));
        Assert.That(c.EosTokenIds, Is.EqualTo((int[])[128001, 128008, 128009]));
        Assert.That(c.TorchDtype, Is.EqualTo("bfloat16"));
        Assert.That(c.WeightDType, Is.EqualTo(DType.BFloat16));
        Assert.That(c.HeadDim, Is.EqualTo(128));
    }

    [Test]
    public void Parse_RopeScalingWithTypeKey_ReadsTheType()
    {
        var c = ModelConfig.Parse(ConfigSamples.Minimal("llama", "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}"));
        Assert.That(c.Rope.RopeType, Is.EqualTo("linear"));
        Assert.That(c.Rope.Factor, Is.EqualTo(2.0));
        Assert.That(c.Rope.Theta, Is.EqualTo(10000), "default theta when neither style gives one");
    }

    [Test]
    public void Parse_RopeParametersStyle_ReadsThetaAndScalingFromTheObject()
    {
        var c = ModelConfig.Parse(ConfigSamples.Minimal("llama",
            "\"rope_parameters\": {\"rope_type\": \"llama3\", \"rope_theta\": 500000.0, \"factor\": 32.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}"));
        Assert.That(c.Rope.RopeType, Is.EqualTo("llama3"));
        Assert.That((c.Rope.Theta, c.Rope.Factor, c.Rope.OriginalMaxPositionEmbeddings), Is.EqualTo((500000.0, (double?)32.0, (int?)8192)));
    }

    [Test]
    public void Parse_PerLayerTypeRopeParameters_Throws()
    {
        var ex = Assert.Throws<CheckpointException>(() => ModelConfig.Parse(ConfigSamples.Minimal("qwen2",
            "\"rope_parameters\": {\"full_attention\": {\"rope_theta\": 1.0}, \"sliding_attention\": {\"rope_theta\": 2.0}}")));
        Assert.That(ex!.Message, Does.Contain("one set per layer type").And.Contain("full_attention, sliding_attention"));
    }

    [Test]
    public void Parse_MinimalLlama_AppliesTransformersDefaults()
    {
        var c = ModelConfig.Parse(ConfigSamples.Minimal("llama"));
        Assert.That(c.NumKeyValueHeads, Is.EqualTo(4), "num_key_value_heads defaults to num_attention_heads");
        Assert.That(c.HeadDim, Is.EqualTo(16));
        Assert.That(c.RmsNormEps, Is.EqualTo(1e-6));
        Assert.That(c.MaxPositionEmbeddings, Is.EqualTo(2048));
        Assert.That(c.TieWordEmbeddings, Is.False);
        Assert.That(c.HiddenAct, Is.EqualTo("silu"));
        Assert.That(c.TorchDtype, Is.Null);
        Assert.That(c.EosTokenIds, Is.Empty);
        Assert.That(c.Architectures, Is.Empty);
    }

    [Test]
    public void Parse_Qwen3WithoutHeadDim_Uses128LikeTransformers()
    {
        var c = ModelConfig.Parse(ConfigSamples.Minimal("qwen3"));
        Assert.That(c.HeadDim, Is.EqualTo(128));
        Assert.That(c.HasQkvBias, Is.False);
        Assert.That(c.MaxPositionEmbeddings, Is.EqualTo(32768));
    }

    [TestCase("llama", true, true, true)]
    [TestCase("qwen3", true, true, false)]
    [TestCase("qwen2", true, false, false)]
    [TestCase("mistral", false, false, false)]
    [TestCase("phi3", false, false, false)]
    public void Parse_BiasFlagsSet_FollowEachArchitecture(string modelType, bool qkv, bool output, bool mlp)
    {
        var c = ModelConfig.Parse(ConfigSamples.Minimal(modelType, "\"attention_bias\": true, \"mlp_bias\": true"));
        Assert.That((c.HasQkvBias, c.HasOutputProjectionBias, c.HasMlpBias), Is.EqualTo((qkv, output, mlp)));
    }

    [Test]
    public void Parse_Phi3PartialRotary_ReducesRotaryDim()
    {
        var c = ModelConfig.Parse(ConfigSamples.Phi3Partial);
        Assert.That(c.HeadDim, Is.EqualTo(128));
        Assert.That(c.PartialRotaryFactor, Is.EqualTo(0.75));
        Assert.That(c.RotaryDim, Is.EqualTo(96));
        Assert.That(c.RmsNormEps, Is.EqualTo(1e-5), "Phi-3's default epsilon");
        Assert.That(c.Rope.OriginalMaxPositionEmbeddings, Is.EqualTo(4096), "Phi-3 keeps it at the top level");
        Assert.That(c.SlidingWindow, Is.EqualTo(262144));
        Assert.That(c.AttentionWindow(31), Is.EqualTo(262144));
    }

    [Test]
    public void Parse_SlidingWindow_FollowsEachArchitecturesRules()
    {
        Assert.That(ModelConfig.Parse(ConfigSamples.Minimal("mistral")).SlidingWindow, Is.EqualTo(4096), "Mistral's default");
        Assert.That(ModelConfig.Parse(ConfigSamples.Minimal("mistral", "\"sliding_window\": null")).SlidingWindow, Is.Null);
        Assert.That(ModelConfig.Parse(ConfigSamples.Minimal("llama", "\"sliding_window\": 16")).SlidingWindow, Is.Null, "Llama has no window");
        Assert.That(ModelConfig.Parse(ConfigSamples.Minimal("qwen2", "\"sliding_window\": 16")).SlidingWindow, Is.Null, "off unless use_sliding_window");
        var qwen = ModelConfig.Parse(ConfigSamples.Minimal("qwen2", "\"sliding_window\": 16, \"use_sliding_window\": true, \"max_window_layers\": 2"));
        Assert.That(qwen.SlidingWindow, Is.EqualTo(16));
        Assert.That(Enumerable.Range(0, 4).Select(qwen.AttentionWindow), Is.EqualTo(new int?[] { null, null, 16, 16 }));
        var typed = ModelConfig.Parse(ConfigSamples.Minimal("qwen3",
            "\"sliding_window\": 8, \"use_sliding_window\": true, \"layer_types\": [\"sliding_attention\", \"full_attention\", \"sliding_attention\", \"full_attention\"]"));
        Assert.That(Enumerable.Range(0, 4).Select(typed.AttentionWindow), Is.EqualTo(new int?[] { 8, null, 8, null }));
    }

    [Test]
    public void Parse_ClassificationLabels_ReadsMapsAndCount()
    {
        var c = ModelConfig.Parse(ConfigSamples.Minimal("llama",
            "\"id2label\": {\"0\": \"negative\", \"1\": \"positive\"}, \"label2id\": {\"negative\": 0, \"positive\": 1}"));
        Assert.That(c.NumLabels, Is.EqualTo(2));
        Assert.That(c.Id2Label![1], Is.EqualTo("positive"));
        Assert.That(c.Label2Id!["negative"], Is.EqualTo(0));
        Assert.That(ModelConfig.Parse(ConfigSamples.Minimal("llama", "\"num_labels\": 3")).NumLabels, Is.EqualTo(3));
    }

    [Test]
    public void Parse_DTypeKey_WinsOverTorchDtype()
    {
        var c = ModelConfig.Parse(ConfigSamples.Minimal("llama", "\"dtype\": \"float16\", \"torch_dtype\": \"float32\""));
        Assert.That(c.WeightDType, Is.EqualTo(DType.Float16));
    }

    [Test]
    public void Parse_WholeFloatForInteger_IsAccepted()
    {
        var c = ModelConfig.Parse(ConfigSamples.Minimal("llama", "\"num_key_value_heads\": 2.0"));
        Assert.That(c.NumKeyValueHeads, Is.EqualTo(2));
    }
}
