using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Generation;
using MLNetLora.Models.Hub;

namespace MLNetLora.Tests.Generation;

/// <summary>Greedy decoding on the Hugging Face fixtures against transformers' <c>generate</c>, and batching.</summary>
[TestFixture("llama")]
[TestFixture("qwen2")]
public class GreedyGenerationTests(string fixture)
{
    private static readonly string[] Prompts = ["Call me Ishmael. Some years ago", "The whale"];

    private PretrainedModel pm = null!;
    private long[] prompt = [], expected = [];

    [OneTimeSetUp]
    public void Load()
    {
        pm = PretrainedModel.Load(TestPaths.Fixture(fixture));
        using var reference = SafeTensorsFile.Open(Path.Combine(TestPaths.Fixture(fixture), "reference.safetensors"));
        using var p = reference.Load("generate_prompt");
        using var g = reference.Load("generate_greedy");
        prompt = p.ToArray<long>();
        expected = g.ToArray<long>();
    }

    [OneTimeTearDown]
    public void Free() => pm.Dispose();

    [Test]
    public void Generate_ReferencePromptGreedy_ReproducesTransformersGenerate()
    {
        // generation_config.json: eos 1, no sampling settings; the reference never emits 1, so all 12 tokens come out.
        var generator = TextGenerator.FromPretrained(pm);
        Assert.That(generator.DefaultStopTokenIds, Is.EqualTo(new[] { 1 }));
        Assert.That(generator.PadTokenId, Is.EqualTo(2));
        using var ids = Tensor.FromArray(prompt, 1, prompt.Length);
        var result = generator.Generate(ids, null, GenerationOptions.Greedy(12)).Single();
        Assert.That(result.TokenIds.Select(i => (long)i), Is.EqualTo(expected));
        Assert.That(result.PromptLength, Is.EqualTo(8));
        Assert.That(result.FinishReason, Is.EqualTo(FinishReason.Length));
        Assert.That(result.Text, Is.EqualTo(pm.Tokenizer!.Decode(result.NewTokenIds)));
    }

    [Test]
    public void Generate_NullOptions_UsesGenerationConfigDefaultsWhichAreGreedy()
    {
        var config = GenerationConfig.Load(pm.Directory);
        Assert.That(config.EosTokenIds, Is.EqualTo(new[] { 1 }));
        Assert.That(config.DoSample, Is.Null);
        var options = config.ToOptions() with { MaxNewTokens = 12 };
        var fromIds = TextGenerator.FromPretrained(pm).Generate([prompt.Select(i => (int)i).ToArray()], options).Single();
        Assert.That(fromIds.TokenIds.Select(i => (long)i), Is.EqualTo(expected));
    }

    [Test]
    public void Generate_LeftPaddedBatchOfTwoPrompts_GivesEachRowItsOwnGreedyTokens()
    {
        var options = GenerationOptions.Greedy(10);
        var batched = TextGenerator.Generate(pm, Prompts, options);
        var lengths = Prompts.Select(p => pm.Tokenizer!.Encode(p).Length).ToArray();
        Assert.That(lengths[0], Is.GreaterThan(lengths[1]), "the second row must be padded");
        for (int i = 0; i < Prompts.Length; i++)
        {
            var alone = TextGenerator.Generate(pm, [Prompts[i]], options).Single();
            Assert.That(batched[i].TokenIds, Is.EqualTo(alone.TokenIds), $"row {i}");
            Assert.That(batched[i].PromptLength, Is.EqualTo(lengths[i]));
            Assert.That(batched[i].Text, Is.EqualTo(alone.Text));
        }
    }

    [Test]
    public void Generate_StopTokenReached_EndsThatRowWithTheStopToken()
    {
        var generated = expected.Skip(8).Select(i => (int)i).ToArray();
        int stop = generated[2];
        int firstAt = Array.IndexOf(generated, stop);
        var options = GenerationOptions.Greedy(12) with { StopTokenIds = [stop] };
        var result = TextGenerator.FromPretrained(pm).Generate([prompt.Select(i => (int)i).ToArray()], options).Single();
        Assert.That(result.NewTokenIds, Is.EqualTo(generated.Take(firstAt + 1)));
        Assert.That(result.FinishReason, Is.EqualTo(FinishReason.Stop));
    }

    [Test]
    public void Generate_PromptPlusNewTokensBeyondMaxPositions_ThrowsBeforeDecoding()
    {
        int max = pm.Model.Spec.MaxPositions;
        var e = Assert.Throws<ArgumentException>(() =>
            TextGenerator.FromPretrained(pm).Generate([prompt.Select(i => (int)i).ToArray()], GenerationOptions.Greedy(max - 7)));
        Assert.That(e!.Message, Does.Contain($"supports {max}").And.Contain("MaxNewTokens"));
    }
}
