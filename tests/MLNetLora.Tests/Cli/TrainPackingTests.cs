using static MLNetLora.Tests.Cli.CliFixture;
using static MLNetLora.Tests.Cli.TrainingTestData;

namespace MLNetLora.Tests.Cli;

/// <summary>With --packing the CLI plans, checks and resumes on the packed blocks, the examples the trainer counts.</summary>
public class TrainPackingTests : TempDirFixture
{
    [Test]
    public void Train_Packing_PlansOnBlocksAndResumes()
    {
        string output = Path.Combine(Dir, "out"), data = MailJsonl(Dir, rows: 32);
        string[] Args(string steps, params string[] extra) =>
            ["train", Llama, "--data", data, "--text-fields", "subject,body", "--max-length", "32", "--packing", "--batch-size", "2",
             "--lr", "1e-3", "--output", output, "--max-steps", steps, .. extra];
        var first = CliRun.Run(Args("2"));
        Assert.That(first.ExitCode, Is.EqualTo(0), first.ToString());
        Assert.That(first.Out, Does.Match(@"32 train \(packed into \d+ blocks\)"));
        var resumed = CliRun.Run(Args("3", "--resume", output));
        Assert.That(resumed.ExitCode, Is.EqualTo(0), resumed.ToString());
        Assert.That(Directory.Exists(Path.Combine(output, "checkpoint-3")), Is.True, resumed.ToString());
    }
}
