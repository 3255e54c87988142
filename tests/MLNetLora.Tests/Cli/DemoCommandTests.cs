using System.Globalization;
using System.Text.RegularExpressions;
using MLNetLora.Cli;
using MLNetLora.Cli.Commands;
using static MLNetLora.Tests.Cli.TrainingTestData;

namespace MLNetLora.Tests.Cli;

public class DemoCommandTests : TempDirFixture
{
    [Test]
    public void Demo_FewSteps_RunsEndToEndAndValidationLossFalls()
    {
        var r = CliRun.Run("demo", "--output", Dir, "--steps", "30");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var fell = Regex.Match(r.Out, @"The validation loss fell from (\d+\.\d+) to (\d+\.\d+)");
        Assert.That(fell.Success, Is.True, r.Out);
        double before = double.Parse(fell.Groups[1].Value, CultureInfo.InvariantCulture);
        double after = double.Parse(fell.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.That(after, Is.LessThan(before - 0.3), "30 steps at the demo's rate take off more than a third of a nat");
        Assert.That(r.Out, Does.Contain("2e-4"), "the output explains why its rate differs from the LoRA default");
        Assert.That(r.Out, Does.Match(@"schedule\s+cosine: peak 3e-3"));

        var evals = EvalRows(Path.Combine(Dir, "metrics.jsonl"));
        Assert.That(evals[0].Step, Is.EqualTo(0));
        Assert.That(evals[^1].Loss, Is.EqualTo(after).Within(1e-4));
        Assert.That(IsPng(Path.Combine(Dir, "curves.png")), Is.True);
        Assert.That(File.Exists(Path.Combine(Dir, "adapter", "adapter_model.safetensors")), Is.True);
    }

    [Test]
    public void Demo_BaseModel_IsAHuggingFaceFolderThatInspectAndMergeRead()
    {
        var r = CliRun.Run("demo", "--output", Dir, "--steps", "2");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        string baseModel = Path.Combine(Dir, "base-model");

        var inspect = CliRun.Run("inspect", baseModel, "--json");
        Assert.That(inspect.ExitCode, Is.EqualTo(0), inspect.ToString());
        Assert.That(inspect.Out, Does.Contain($"\"hidden_size\": {DemoModel.HiddenSize}"));
        Assert.That(inspect.Out, Does.Contain($"\"num_key_value_heads\": {DemoModel.KvHeads}"));

        var merge = CliRun.Run("merge", baseModel, "--adapter", Path.Combine(Dir, "adapter"), "--output", Path.Combine(Dir, "merged"));
        Assert.That(merge.ExitCode, Is.EqualTo(0), merge.ToString());
        Assert.That(File.Exists(Path.Combine(Dir, "merged", "model.safetensors")), Is.True);
    }

    [Test]
    public void Demo_SameSeedTwice_BuildsIdenticalBaseModel()
    {
        string a = Path.Combine(Dir, "a"), b = Path.Combine(Dir, "b");
        DemoModel.Write(a, 2048, 0, 1, 2);
        DemoModel.Write(b, 2048, 0, 1, 2);
        Assert.That(File.ReadAllBytes(Path.Combine(a, "model.safetensors")), Is.EqualTo(File.ReadAllBytes(Path.Combine(b, "model.safetensors"))));
        Assert.That(new FileInfo(Path.Combine(a, "model.safetensors")).Length, Is.GreaterThan(DemoModel.ParameterCount(2048) * 4));
    }

    [Test]
    public void Demo_StepsZero_ExitsWithUsageError()
    {
        var r = CliRun.Run("demo", "--output", Dir, "--steps", "0");
        Assert.That(r.ExitCode, Is.EqualTo(CliApp.UsageExitCode), r.ToString());
        Assert.That(r.Error, Does.Contain("--steps 0 is out of range"));
    }
}
