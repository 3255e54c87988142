using MLNetLora.Cli;
using MLNetLora.Cli.Commands;

namespace MLNetLora.Tests.Cli;

public class HelpTests
{
    [TestCase("--help")]
    [TestCase("-h")]
    [TestCase("help")]
    public void Help_GlobalFlag_ListsEveryCommand(string flag)
    {
        var r = CliRun.Run(flag);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        foreach (string name in new[] { "inspect", "tokenize", "generate", "forward", "merge", "train", "lr-find", "demo" })
            Assert.That(r.Out, Does.Match($@"\n\s+{name}\s+\S"), name);
        Assert.That(r.Out, Does.Not.Contain("(coming)"));
    }

    [Test]
    public void Help_AfterCommand_ShowsUsageAndEveryOption()
    {
        var r = CliRun.Run("forward", "--help");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Does.Contain("Usage: mlnetlora forward MODEL_DIR --input IN.safetensors --output OUT.safetensors"));
        foreach (var option in new ForwardCommand().Syntax.Options)
            Assert.That(r.Out, Does.Contain(option.Display));
    }

    [Test]
    public void Help_HelpWordWithCommand_ShowsThatCommandsHelp()
    {
        var r = CliRun.Run("help", "merge");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Does.StartWith("mlnetlora merge:"));
    }

    [Test]
    public void Help_FlagWithOtherwiseInvalidArguments_StillShowsHelp()
    {
        var r = CliRun.Run("inspect", "--bogus", "-h");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Does.Contain("Usage: mlnetlora inspect MODEL_DIR [--json]"));
    }

    [Test]
    public void Version_PrintsToolNameAndVersion()
    {
        var r = CliRun.Run("--version");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Does.Match(@"^mlnetlora \d+\.\d+"));
    }

    [Test]
    public void TrainHelp_GroupsItsOptionsByTopic()
    {
        var r = CliRun.Run("train", "--help");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        string[] headings = ["Data:", "Output and checkpoints:", "Learning rate and schedule:", "Length and batching:", "Optimizer and watchdog:", "Evaluation:", "LoRA:", "Runtime:", "General:"];
        var positions = headings.Select(h => r.Out.IndexOf("\n" + h + "\n", StringComparison.Ordinal)).ToArray();
        Assert.That(positions, Is.All.GreaterThan(0));
        Assert.That(positions, Is.Ordered);
        Assert.That(r.Out.IndexOf("\n  --lr RATE", StringComparison.Ordinal), Is.GreaterThan(positions[2]).And.LessThan(positions[3]), "the usage line also names it; the option row sits under its topic");
        Assert.That(r.Out, Does.Not.Contain("Other:"), "every train option has a topic");
    }
}
