using System.Text.Json;
using System.Text.RegularExpressions;
using MLNetLora.Cli;
using MLNetLora.Cli.Commands;
using MLNetLora.Models.Checkpoints;
using static MLNetLora.Tests.Cli.CliFixture;
using static MLNetLora.Tests.Cli.TrainingTestData;

namespace MLNetLora.Tests.Cli;

public class TrainCommandTests : TempDirFixture
{
    private string Output => Path.Combine(Dir, "out");

    // A rate well above LoRA's default: the fixture's weights are random, so 2e-4 would move the loss too little to test in a few steps.
    private string[] CausalArgs(params string[] extra) => [.. BaseArgs(), "--lr", "1e-2", .. extra];

    private string[] BaseArgs() => ["train", Llama, "--data", MobyDickSlice(Dir), "--output", Output, "--max-length", "64"];

    [Test]
    public void Train_CausalLmSlice_WritesAdapterMetricsChartAndEvalLossFalls()
    {
        string csv = Path.Combine(Dir, "metrics.csv");
        var r = CliRun.Run(CausalArgs("--eval-split", "0.2", "--max-steps", "8", "--eval-every", "4", "--csv", csv));
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());

        Assert.That(File.Exists(Path.Combine(Output, "adapter", "adapter_model.safetensors")), Is.True);
        Assert.That(File.Exists(Path.Combine(Output, "adapter", "adapter_config.json")), Is.True);
        Assert.That(Directory.Exists(Path.Combine(Output, "checkpoint-8")), Is.True);
        Assert.That(IsPng(Path.Combine(Output, "curves.png")), Is.True, "default chart is OUTPUT/curves.png");
        Assert.That(File.ReadLines(csv).First(), Does.StartWith("step,epoch,lr,loss,grad_norm,tokens_per_s"));

        string metrics = Path.Combine(Output, "metrics.jsonl");
        var train = TrainRows(metrics);
        Assert.That(train.Select(t => t.GetProperty("step").GetInt64()), Is.EqualTo(new long[] { 1, 2, 3, 4, 5, 6, 7, 8 }));
        foreach (string key in new[] { "step", "epoch", "lr", "loss", "grad_norm", "tokens_per_s" })
            Assert.That(train[0].TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number, Is.True, key);

        var evals = EvalRows(metrics);
        Assert.That(evals.Select(e => e.Step), Is.EqualTo(new long[] { 0, 4, 8 }), "an evaluation before training, then every 4 steps");
        Assert.That(evals[^1].Loss, Is.LessThan(evals[0].Loss));
        Assert.That(r.Out, Does.Contain("eval loss"));
        Assert.That(r.Out, Does.Contain(Path.Combine(Output, "curves.png")));
        Assert.That(r.Error, Does.Contain("eval at step 8"), "trainer log lines go to stderr");
    }

    [Test]
    public void Train_ClassificationWithTextFields_WritesLabelsAndScoreHead()
    {
        var r = CliRun.Run("train", Llama, "--data", MailJsonl(Dir), "--task", "classification", "--text-fields", "subject,body",
            "--output", Output, "--max-length", "32", "--max-steps", "4", "--eval-split", "0.25", "--lr", "1e-2");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Does.Contain("0=ham, 1=spam"));
        Assert.That(r.Out, Does.Match(@"accuracy\s+\d+\.\d% → \d+\.\d%"));

        var labels = TrainingData.ReadLabels(Path.Combine(Output, TrainingData.LabelsFileName));
        Assert.That(labels, Is.EqualTo(new[] { "ham", "spam" }));
        using var adapter = SafeTensorsFile.Open(Path.Combine(Output, "adapter", "adapter_model.safetensors"));
        Assert.That(adapter.Contains("base_model.model.score.weight"), Is.True);
        Assert.That(adapter.GetInfo("base_model.model.score.weight").Shape, Is.EqualTo(new long[] { 2, 64 }));
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(Output, "adapter", "adapter_config.json"))).RootElement;
        Assert.That(config.GetProperty("task_type").GetString(), Is.EqualTo("SEQ_CLS"));
    }

    [Test]
    public void Train_ResumeFromCheckpoint_ContinuesStepNumbersAndLosses()
    {
        var first = CliRun.Run(CausalArgs("--max-steps", "6", "--checkpoint-every", "3", "--log-every", "1"));
        Assert.That(first.ExitCode, Is.EqualTo(0), first.ToString());
        string metrics = Path.Combine(Output, "metrics.jsonl");
        var original = TrainRows(metrics);

        var resumed = CliRun.Run(CausalArgs("--max-steps", "6", "--log-every", "1", "--resume", Path.Combine(Output, "checkpoint-3")));
        Assert.That(resumed.ExitCode, Is.EqualTo(0), resumed.ToString());
        Assert.That(resumed.Out, Does.Contain("at step 3"));
        var progress = resumed.Out.Split('\n').Where(l => l.StartsWith("step ", StringComparison.Ordinal)).ToList();
        Assert.That(progress[0], Does.StartWith("step 4/6"));
        Assert.That(progress[^1], Does.StartWith("step 6/6"));

        // The resume cut the rows after step 3 and wrote steps 4-6 again: the file reads like one run.
        var after = TrainRows(metrics);
        Assert.That(after.Select(t => t.GetProperty("step").GetInt64()), Is.EqualTo(new long[] { 1, 2, 3, 4, 5, 6 }));
        for (int i = 3; i < 6; i++)
            Assert.That(after[i].GetProperty("loss").GetDouble(), Is.EqualTo(original[i].GetProperty("loss").GetDouble()).Within(1e-9),
                $"step {i + 1} repeats the uninterrupted run");
        Assert.That(resumed.Out + resumed.Error, Does.Contain("removed 3 rows written after step 3"));
    }

    [Test]
    public void Train_CancelledBeforeFirstStep_WritesCheckpointAndSaysHowToResume()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var registry = new CommandRegistry([new TrainCommand(cts.Token)]);
        var r = CliRun.Run(registry, CausalArgs("--max-steps", "4"));
        Assert.That(r.ExitCode, Is.EqualTo(TrainCommand.CancelledExitCode), r.ToString());
        Assert.That(r.Out, Does.Contain("--resume " + Output));
        Assert.That(Directory.Exists(Path.Combine(Output, "checkpoint-0")), Is.True);
        Assert.That(File.Exists(Path.Combine(Output, "curves.png")), Is.False, "no steps, so no chart");
    }

    [Test]
    public void Train_OutputHoldsEarlierRun_RefusesWithoutResume()
    {
        Assert.That(CliRun.Run(CausalArgs("--max-steps", "1")).ExitCode, Is.EqualTo(0));
        var again = CliRun.Run(CausalArgs("--max-steps", "1"));
        Assert.That(again.ExitCode, Is.EqualTo(CliApp.UsageExitCode), again.ToString());
        Assert.That(again.Error, Does.Contain("--resume " + Output));
    }

    private static IEnumerable<TestCaseData> BadOptions()
    {
        TestCaseData Case(string expected, params string[] extra) => new TestCaseData(extra, expected).SetArgDisplayNames(string.Join(" ", extra));
        yield return Case("--task regression is not valid; use causal-lm or classification", "--task", "regression");
        yield return Case("--lr -1 is out of range", "--lr", "-1");
        yield return Case("--lr fast is not a number", "--lr", "fast");
        yield return Case("--batch-size 0 is out of range", "--batch-size", "0");
        yield return Case("--eval-split 1.5 is out of range", "--eval-split", "1.5");
        yield return Case("--eval-every needs evaluation data", "--eval-every", "5");
        yield return Case("--early-stopping needs evaluation data", "--early-stopping", "2");
        yield return Case("not both", "--warmup-steps", "5", "--warmup-ratio", "0.1");
        yield return Case("--scheduler cosinus is not a schedule", "--scheduler", "cosinus");
        yield return Case("unknown module 'attn'", "--target-modules", "q_proj,attn");
        yield return Case("must end in .png or .svg", "--chart", "curves.jpg");
        yield return Case("needs both --resume and --lr", "--override-lr", "--lr", "1e-3");
        yield return Case("--watchdog ignore is not valid", "--watchdog", "ignore");
        yield return Case("--precision fp8 is not valid", "--precision", "fp8");
        yield return Case("only --task classification uses", "--label-field", "kind");
        yield return Case("no checkpoint found", "--resume", "/nonexistent/run");
        yield return Case("polynomial: total steps (1) must exceed warmup (1)", "--scheduler", "polynomial", "--max-steps", "1", "--warmup-steps", "1");
    }

    [TestCaseSource(nameof(BadOptions))]
    public void Train_BadOption_ExitsWithUsageError(string[] extra, string expected)
    {
        var r = CliRun.Run([.. BaseArgs(), .. extra]);
        Assert.That(r.ExitCode, Is.EqualTo(CliApp.UsageExitCode), r.ToString());
        Assert.That(r.Error, Does.StartWith("error: "));
        Assert.That(r.Error, Does.Contain(expected).IgnoreCase);
        Assert.That(Directory.Exists(Path.Combine(Output, "adapter")), Is.False, "nothing is trained");
    }

    [Test]
    public void Train_MissingDataFile_ExitsWithUsageError()
    {
        var r = CliRun.Run("train", Llama, "--data", Path.Combine(Dir, "nope.jsonl"), "--output", Output);
        Assert.That(r.ExitCode, Is.EqualTo(CliApp.UsageExitCode), r.ToString());
        Assert.That(r.Error, Does.Contain("nope.jsonl' does not exist"));
    }

    [Test]
    public void Train_ClassificationOnPlainText_ExitsWithUsageError()
    {
        var r = CliRun.Run(CausalArgs("--task", "classification"));
        Assert.That(r.ExitCode, Is.EqualTo(CliApp.UsageExitCode), r.ToString());
        Assert.That(r.Error, Does.Contain("has no labels"));
    }

    [Test]
    public void Train_ClassificationRowsWithoutLabel_ExitsWithUsageError()
    {
        var r = CliRun.Run("train", Llama, "--data", MailJsonl(Dir, withLabel: false), "--task", "classification",
            "--text-fields", "subject,body", "--output", Output);
        Assert.That(r.ExitCode, Is.EqualTo(CliApp.UsageExitCode), r.ToString());
        Assert.That(r.Error, Does.Contain("has no 'label' field"));
        Assert.That(r.Error, Does.Contain("--label-field"));
    }

    [Test]
    public void Train_ClassificationWithOneClass_ExitsWithUsageError()
    {
        var r = CliRun.Run("train", Llama, "--data", MailJsonl(Dir, classes: ["ham"]), "--task", "classification",
            "--text-fields", "subject,body", "--output", Output);
        Assert.That(r.ExitCode, Is.EqualTo(CliApp.UsageExitCode), r.ToString());
        Assert.That(r.Error, Does.Contain("at least two classes"));
        Assert.That(r.Error, Does.Contain("[ham]"));
    }

    [Test]
    public void Train_ResumeWithOtherData_ExitsWithUsageError()
    {
        Assert.That(CliRun.Run(CausalArgs("--max-steps", "1")).ExitCode, Is.EqualTo(0));
        var r = CliRun.Run(CausalArgs("--max-steps", "2", "--max-rows", "10", "--resume", Output));
        Assert.That(r.ExitCode, Is.EqualTo(CliApp.UsageExitCode), r.ToString());
        Assert.That(Regex.IsMatch(r.Error, @"trained on \d+ examples but this command gives 10"), Is.True, r.Error);
    }
}
