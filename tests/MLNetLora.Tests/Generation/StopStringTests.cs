using MLNetLora.LibTorch;
using MLNetLora.Models.Generation;
using MLNetLora.Models.Hub;

namespace MLNetLora.Tests.Generation;

/// <summary>GenerationOptions.StopStrings end a row once its decoded continuation contains one (transformers' stop_strings).</summary>
public class StopStringTests
{
    [Test]
    public void Generate_StopStringInTheContinuation_StopsAtTheTokenThatCompletesIt()
    {
        using var pretrained = PretrainedModel.Load(TestPaths.Fixture("llama"), Device.Cpu);
        var generator = TextGenerator.FromPretrained(pretrained);
        var free = generator.Generate(["The whale"], GenerationOptions.Greedy(12) with { StopTokenIds = [] }).Single();
        var tok = pretrained.RequireTokenizer();
        // A stop string made of the text of generated tokens 3 and 4: the row must end at token 4.
        string stop = tok.Decode(free.NewTokenIds.Take(5), skipSpecialTokens: false)[tok.Decode(free.NewTokenIds.Take(3), skipSpecialTokens: false).Length..];
        Assume.That(stop.Trim(), Is.Not.Empty);
        Assume.That(tok.Decode(free.NewTokenIds.Take(4), skipSpecialTokens: false), Does.Not.Contain(stop));
        var stopped = generator.Generate(["The whale"], GenerationOptions.Greedy(12) with { StopTokenIds = [], StopStrings = [stop] }).Single();
        Assert.That(stopped.NewTokenIds, Is.EqualTo(free.NewTokenIds.Take(5)));
        Assert.That(stopped.FinishReason, Is.EqualTo(FinishReason.Stop));
        Assert.That(stopped.Text, Does.EndWith(stop));
    }

    [Test]
    public void Validate_EmptyStopString_NamesIt()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => (new GenerationOptions { StopStrings = [""] }).Validate());
        Assert.That(e!.ParamName, Is.EqualTo("StopStrings"));
    }
}
