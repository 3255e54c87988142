using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Generation;
using MLNetLora.Models.Transformer;
using MLNetLora.Tests.Models;

namespace MLNetLora.Tests.Generation;

/// <summary>Stopping, batching, input checks and configuration on tiny float64 models (no tokenizer).</summary>
public class TextGeneratorTests
{
    private static readonly int[] Long = [3, 7, 1, 9, 4, 11, 2, 5], Short = [13, 6, 0];

    [TestCase(Architecture.Llama)]
    [TestCase(Architecture.Qwen3)]
    [TestCase(Architecture.Phi3)]
    public void Generate_DefaultStopToken_EndsOneRowWhileTheOtherRunsToLength(Architecture arch)
    {
        using var model = TinyModels.Create(arch, seed: 21);
        var plain = new TextGenerator(model);
        var soloLong = plain.Generate([Long], GenerationOptions.Greedy(8)).Single().NewTokenIds;
        var soloShort = plain.Generate([Short], GenerationOptions.Greedy(8)).Single().NewTokenIds;
        // A token the long row produces early and the short row never does: the long row must stop on it.
        int at = Enumerable.Range(1, soloLong.Count - 2).First(i => !soloShort.Contains(soloLong[i]) && !soloLong.Take(i).Contains(soloLong[i]));
        var stopping = new TextGenerator(model, stopTokenIds: [soloLong[at]]);

        var batch = stopping.Generate([Long, Short], GenerationOptions.Greedy(8));
        Assert.That(batch[0].NewTokenIds, Is.EqualTo(soloLong.Take(at + 1)));
        Assert.That(batch[0].FinishReason, Is.EqualTo(FinishReason.Stop));
        Assert.That(batch[1].NewTokenIds, Is.EqualTo(soloShort));
        Assert.That(batch[1].FinishReason, Is.EqualTo(FinishReason.Length));
        Assert.That(batch[0].TokenIds.Take(Long.Length), Is.EqualTo(Long));
        Assert.That(batch[1].TokenIds.Take(Short.Length), Is.EqualTo(Short));
        Assert.That(batch[0].Text, Is.Null, "no tokenizer, no text");
    }

    [Test]
    public void Generate_EveryRowStopped_EndsEarly()
    {
        using var model = TinyModels.Create(Architecture.Qwen2, seed: 22);
        var generator = new TextGenerator(model);
        var first = generator.Generate([Long], GenerationOptions.Greedy(1)).Single().NewTokenIds[0];
        var r = generator.Generate([Long], GenerationOptions.Greedy(20) with { StopTokenIds = [first] }).Single();
        Assert.That(r.NewTokenIds, Is.EqualTo(new[] { first }));
        Assert.That(r.FinishReason, Is.EqualTo(FinishReason.Stop));
    }

    [Test]
    public void Generate_TensorBatchEqualsTokenListBatch()
    {
        using var model = TinyModels.Create(Architecture.Llama, seed: 23);
        var generator = new TextGenerator(model, padTokenId: 0);
        var fromLists = generator.Generate([Long, Short], GenerationOptions.Greedy(5));
        long[] ids = [.. Long.Select(i => (long)i), 0, 0, 0, 0, 0, .. Short.Select(i => (long)i)];
        long[] mask = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1];
        using var idsT = Tensor.FromArray(ids, 2, 8);
        using var maskT = Tensor.FromArray(mask, 2, 8);
        var fromTensor = generator.Generate(idsT, maskT, GenerationOptions.Greedy(5));
        for (int b = 0; b < 2; b++) Assert.That(fromTensor[b].TokenIds, Is.EqualTo(fromLists[b].TokenIds));
    }

    [Test]
    public void Generate_RightPaddedTensor_ThrowsAskingForLeftPadding()
    {
        using var model = TinyModels.Create(Architecture.Llama, seed: 24);
        using var ids = Tensor.FromArray(new long[] { 1, 2, 3, 4, 5, 0 }, 2, 3);
        using var mask = Tensor.FromArray(new long[] { 1, 1, 1, 1, 1, 0 }, 2, 3);
        var e = Assert.Throws<ArgumentException>(() => new TextGenerator(model).Generate(ids, mask));
        Assert.That(e!.Message, Does.Contain("Row 1 is right-padded"));
    }

    [Test]
    public void Generate_PromptPlusNewTokensBeyondMaxPositions_Throws()
    {
        using var model = TinyModels.Create(Architecture.Qwen3, seed: 25);
        var generator = new TextGenerator(model);
        var e = Assert.Throws<ArgumentException>(() => generator.Generate([Long], GenerationOptions.Greedy(57)));
        Assert.That(e!.Message, Does.Contain("needs 65 positions but the model supports 64"));
        Assert.That(generator.Generate([Long], GenerationOptions.Greedy(56)).Single().NewTokenIds, Has.Count.LessThanOrEqualTo(56));
    }

    [Test]
    public void Generate_EmptyPromptOrTextWithoutTokenizer_Throws()
    {
        using var model = TinyModels.Create(Architecture.Llama, seed: 26);
        var generator = new TextGenerator(model);
        Assert.Throws<ArgumentException>(() => generator.Generate([Long, Array.Empty<int>()]));
        Assert.Throws<InvalidOperationException>(() => generator.Generate(["hello"]));
    }

    [TestCase(0, 1.0, 50, 1.0, 1.0, "MaxNewTokens")]
    [TestCase(4, 0.0, 50, 1.0, 1.0, "Temperature")]
    [TestCase(4, 1.0, -1, 1.0, 1.0, "TopK")]
    [TestCase(4, 1.0, 50, 0.0, 1.0, "TopP")]
    [TestCase(4, 1.0, 50, 1.5, 1.0, "TopP")]
    [TestCase(4, 1.0, 50, 1.0, 0.0, "RepetitionPenalty")]
    public void Validate_OutOfRange_NamesTheOption(int maxNew, double temperature, int topK, double topP, double penalty, string name)
    {
        var options = new GenerationOptions { MaxNewTokens = maxNew, DoSample = true, Temperature = temperature, TopK = topK, TopP = topP, RepetitionPenalty = penalty };
        var e = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.That(e!.ParamName, Is.EqualTo(name));
    }

    [Test]
    public void GenerationConfig_Parse_ReadsEosListAndSamplingDefaults()
    {
        var c = GenerationConfig.Parse("""
            { "eos_token_id": [128001, 128009], "pad_token_id": null, "bos_token_id": 128000,
              "do_sample": true, "temperature": 0.6, "top_p": 0.9, "top_k": 20.0, "max_new_tokens": 100 }
            """);
        Assert.That(c.EosTokenIds, Is.EqualTo(new[] { 128001, 128009 }));
        Assert.That(c.PadTokenId, Is.Null);
        Assert.That(c.BosTokenId, Is.EqualTo(128000));
        var o = c.ToOptions();
        Assert.That((o.DoSample, o.Temperature, o.TopP, o.TopK, o.MaxNewTokens, o.RepetitionPenalty), Is.EqualTo((true, 0.6, 0.9, 20, 100, 1.0)));
    }

    [Test]
    public void GenerationConfig_WrongType_ThrowsNamingKeyAndFile()
    {
        var e = Assert.Throws<CheckpointException>(() => GenerationConfig.Parse("""{ "eos_token_id": "x" }""", "/m/generation_config.json"));
        Assert.That(e!.Message, Does.Contain("/m/generation_config.json").And.Contain("\"eos_token_id\" must be an integer"));
        Assert.Throws<CheckpointException>(() => GenerationConfig.Parse("[1]"));
        Assert.Throws<CheckpointException>(() => GenerationConfig.Parse("{"));
    }

    [Test]
    public void GenerationConfig_Load_FolderWithoutFile_GivesEmptyConfig()
    {
        var c = GenerationConfig.Load(TestPaths.NewTempDir());
        Assert.That(c.EosTokenIds, Is.Empty);
        Assert.That(c.ToOptions(), Is.EqualTo(new GenerationOptions()));
    }
}
