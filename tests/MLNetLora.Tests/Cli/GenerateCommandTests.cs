using MLNetLora.Models.Generation;
using MLNetLora.Models.Hub;

namespace MLNetLora.Tests.Cli;

public class GenerateCommandTests
{
    [Test]
    public void Generate_Greedy_MatchesLibraryGenerator()
    {
        // The library's greedy decoding is pinned to transformers' generate() by the Generation tests;
        // here the CLI must give the same tokens for a text prompt.
        string dir = TestPaths.Fixture("llama");
        IReadOnlyList<int> expected;
        using (var pm = PretrainedModel.Load(dir))
            expected = TextGenerator.Generate(pm, ["It was the whale"], GenerationOptions.Greedy(12))[0].TokenIds;
        var r = CliRun.Run("generate", dir, "--prompt", "It was the whale", "--max-new-tokens", "12", "--greedy", "--show-ids");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        string ids = r.Out.Split('\n').Single(l => l.StartsWith("ids: ", StringComparison.Ordinal))[5..].Trim();
        Assert.That(ids.Split(' ').Select(int.Parse), Is.EqualTo(expected));
        Assert.That(r.Out, Does.StartWith("It was the whale"));
        Assert.That(r.Error, Does.Contain("greedy"));
    }

    [Test]
    public void Generate_SampledWithSeed_IsReproducible_AndAdapterChangesOutput()
    {
        string dir = TestPaths.Fixture("llama");
        var a = CliRun.Run("generate", dir, "--prompt", "Call me", "--sample", "--seed", "7", "--max-new-tokens", "8", "--show-ids");
        var b = CliRun.Run("generate", dir, "--prompt", "Call me", "--sample", "--seed", "7", "--max-new-tokens", "8", "--show-ids");
        Assert.That(a.ExitCode, Is.EqualTo(0), a.ToString());
        Assert.That(a.Out, Is.EqualTo(b.Out));
        var greedy = CliRun.Run("generate", dir, "--prompt", "Call me", "--greedy", "--max-new-tokens", "8", "--show-ids");
        var adapted = CliRun.Run("generate", dir, "--prompt", "Call me", "--greedy", "--max-new-tokens", "8", "--show-ids", "--adapter", Path.Combine(dir, "adapter"));
        Assert.That(adapted.ExitCode, Is.EqualTo(0), adapted.ToString());
        Assert.That(adapted.Out, Is.Not.EqualTo(greedy.Out), "the adapter (B non-zero) changes the greedy continuation");
    }

    [Test]
    public void Generate_BadOptions_ExitTwoWithAdvice()
    {
        string dir = TestPaths.Fixture("llama");
        var r = CliRun.Run("generate", dir, "--prompt", "x", "--greedy", "--sample");
        Assert.That(r.ExitCode, Is.EqualTo(2));
        Assert.That(r.Error, Does.Contain("either --greedy or --sample"));
        r = CliRun.Run("generate", dir, "--prompt", "x", "--max-new-tokens", "zero");
        Assert.That(r.ExitCode, Is.EqualTo(2));
        Assert.That(r.Error, Does.Contain("--max-new-tokens"));
        r = CliRun.Run("generate", dir);
        Assert.That(r.ExitCode, Is.EqualTo(2));
        Assert.That(r.Error, Does.Contain("--prompt"));
    }
}
