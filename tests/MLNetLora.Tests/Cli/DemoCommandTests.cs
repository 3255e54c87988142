namespace MLNetLora.Tests.Cli;

/// <summary>The README's main job, in its quick form (the full run is measured for the README, not here).</summary>
[NonParallelizable]
public class DemoCommandTests : TempDirFixture
{
    [Test]
    public void Demo_Quick_RunsBothPipelinesAndWritesEverythingItNames()
    {
        string output = Path.Combine(Dir, "demo");
        var r = CliRun.Run("demo", "--output", output, "--quick");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Does.Match(@"accuracy\s+\d+\.\d+ ?% before training .* → \d+\.\d+ ?% after"));
        Assert.That(r.Out, Does.Match(@"perplexity\s+\d+\.\d before → \d+\.\d after"));
        Assert.That(r.Out, Does.Contain("  before    ").And.Contain("  after     "));
        Assert.That(r.Out.TrimEnd().Split('\n')[^1], Is.EqualTo($"Everything was written to {output}"));
        foreach (string f in new[] { "classifier/spam-classifier.zip", "classifier/peft-adapter/adapter_config.json", "classifier/curves.png",
                                     "questions/answers.zip", "questions/curves.png", "base-model/model.safetensors" })
            Assert.That(File.Exists(Path.Combine(output, f)), Is.True, f);
        Assert.That(r.Error, Does.Contain("step"), "the trainer's progress lines go to stderr");
    }

    [Test]
    public void Demo_OutputHoldingAnEarlierRun_IsRefusedNotOverwritten()
    {
        string output = Path.Combine(Dir, "taken");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "keep.txt"), "earlier");
        var r = CliRun.Run("demo", "--output", output, "--quick");
        Assert.That(r.ExitCode, Is.EqualTo(2));
        Assert.That(r.Error, Does.Contain("already holds files"));
        Assert.That(File.ReadAllText(Path.Combine(output, "keep.txt")), Is.EqualTo("earlier"));
    }

    [Test]
    public void Demo_BaseModel_ComputesWhatPyTorchComputed()
    {
        // tools/demo-model/pretrain.py saved the logits of a held-out block next to the weights it trained.
        var r = CliRun.Run("demo", "--output", Path.Combine(Dir, "d"), "--quick");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        string check = Path.Combine(TestPaths.RepoRoot, "tools", "demo-model", "demo-model-check.safetensors");
        var f = CliRun.Run("forward", Path.Combine(Dir, "d", "base-model"), "--input", check, "--output", Path.Combine(Dir, "logits.safetensors"));
        Assert.That(f.ExitCode, Is.EqualTo(0), f.ToString());
        using var expected = MLNetLora.Models.Checkpoints.SafeTensorsFile.Open(check);
        using var actual = MLNetLora.Models.Checkpoints.SafeTensorsFile.Open(Path.Combine(Dir, "logits.safetensors"));
        using var a = expected.Load("logits");
        using var b = actual.Load("logits");
        Assert.That((a - b).Abs().Max().ToDouble(), Is.LessThan(1e-4));
    }
}
