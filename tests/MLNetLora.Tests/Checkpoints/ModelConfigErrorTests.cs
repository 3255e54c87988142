using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Tests.Checkpoints;

public class ModelConfigErrorTests
{
    [Test]
    public void Parse_UnknownModelType_ListsSupportedTypes()
    {
        var ex = Assert.Throws<CheckpointException>(() => ModelConfig.Parse(ConfigSamples.Minimal("gpt2")));
        Assert.That(ex!.Message, Does.Contain("model_type 'gpt2' is not supported")
            .And.Contain("llama, mistral, qwen2, qwen3, phi3"));
    }

    [Test]
    public void Parse_NoModelType_SaysSo()
    {
        var ex = Assert.Throws<CheckpointException>(() => ModelConfig.Parse("{\"hidden_size\": 64}"));
        Assert.That(ex!.Message, Does.Contain("no \"model_type\"").And.Contain("llama"));
    }

    [Test]
    public void Parse_MissingRequiredSize_NamesTheKey()
    {
        var ex = Assert.Throws<CheckpointException>(() => ModelConfig.Parse("{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_attention_heads\": 4}"));
        Assert.That(ex!.Message, Does.Contain("config.json has no \"intermediate_size\""));
    }

    [Test]
    public void Parse_WrongValueType_NamesKeyAndValue()
    {
        var ex = Assert.Throws<CheckpointException>(() => ModelConfig.Parse(ConfigSamples.Minimal("llama", "\"rms_norm_eps\": \"small\"")));
        Assert.That(ex!.Message, Does.Contain("\"rms_norm_eps\" must be a number but is \"small\""));
    }

    [Test]
    public void Parse_FractionalInteger_Throws()
    {
        var ex = Assert.Throws<CheckpointException>(() => ModelConfig.Parse(ConfigSamples.Minimal("llama", "\"num_key_value_heads\": 1.5")));
        Assert.That(ex!.Message, Does.Contain("\"num_key_value_heads\" must be an integer but is 1.5"));
    }

    [Test]
    public void Parse_HeadsNotMultipleOfKvHeads_Throws()
    {
        var ex = Assert.Throws<CheckpointException>(() => ModelConfig.Parse(ConfigSamples.Minimal("llama", "\"num_key_value_heads\": 3")));
        Assert.That(ex!.Message, Does.Contain("num_attention_heads (4) must be a positive multiple of num_key_value_heads (3)"));
    }

    [Test]
    public void Parse_InvalidJson_SaysNotValidJson()
    {
        var ex = Assert.Throws<CheckpointException>(() => ModelConfig.Parse("{\"model_type\": "));
        Assert.That(ex!.Message, Does.Contain("config.json is not valid JSON"));
    }

    [Test]
    public void Parse_JsonArray_SaysObjectExpected()
    {
        var ex = Assert.Throws<CheckpointException>(() => ModelConfig.Parse("[1, 2]"));
        Assert.That(ex!.Message, Does.Contain("must hold a JSON object"));
    }

    [Test]
    public void Load_FolderWithoutConfig_NamesTheExpectedFile()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            var ex = Assert.Throws<CheckpointException>(() => ModelConfig.Load(dir));
            Assert.That(ex!.Message, Does.Contain(Path.Combine(dir, "config.json")).And.Contain("does not exist"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Load_BadFile_MessageNamesThePath()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            File.WriteAllText(Path.Combine(dir, "config.json"), ConfigSamples.Minimal("bert"));
            var ex = Assert.Throws<CheckpointException>(() => ModelConfig.Load(dir));
            Assert.That(ex!.Message, Does.Contain(Path.Combine(dir, "config.json")).And.Contain("'bert'"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
