using static MLNetLora.Tests.Cli.CliFixture;
using static MLNetLora.Tests.TestUtil;

namespace MLNetLora.Tests.Cli;

public class MergeCommandTests : TempDirFixture
{
    [Test]
    public void Merge_ThenForwardOnMergedFolder_MatchesMergedLogits()
    {
        string merged = Path.Combine(Dir, "merged");
        var m = CliRun.Run("merge", Llama, "--adapter", Adapter, "--output", merged);
        Assert.That(m.ExitCode, Is.EqualTo(0), m.ToString());
        Assert.That(m.Out, Does.Contain("merged 14 LoRA adapters (rank 4)"));
        Assert.That(File.Exists(Path.Combine(merged, "tokenizer.json")), Is.True);
        Assert.That(File.Exists(Path.Combine(merged, "adapter_config.json")), Is.False);

        string output = Path.Combine(Dir, "logits.safetensors");
        var f = CliRun.Run("forward", merged, "--input", Reference, "--output", output);
        Assert.That(f.ExitCode, Is.EqualTo(0), f.ToString());
        AssertClose(ReadLogits(output, ReferenceShape("merged_logits")), ReferenceTensor("merged_logits"), LogitTolerance, "merged checkpoint logits");
    }

    [Test]
    public void Merge_OutputIsModelFolder_IsRefused()
    {
        var r = CliRun.Run("merge", Llama, "--adapter", Adapter, "--output", Llama + "/");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Error, Does.Contain("pass a new folder"));
    }
}
