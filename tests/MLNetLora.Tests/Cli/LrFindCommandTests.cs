using System.Globalization;
using System.Text.RegularExpressions;
using MLNetLora.Cli;
using static MLNetLora.Tests.Cli.CliFixture;
using static MLNetLora.Tests.Cli.TrainingTestData;

namespace MLNetLora.Tests.Cli;

public class LrFindCommandTests : TempDirFixture
{
    [Test]
    public void LrFind_SweepOnSlice_PrintsCappedSuggestionAndWritesCurve()
    {
        string csv = Path.Combine(Dir, "curve.csv");
        string chart = Path.Combine(Dir, "finder.png");
        var r = CliRun.Run("lr-find", Llama, "--data", MobyDickSlice(Dir, 8_000), "--max-length", "32",
            "--min-lr", "1e-4", "--max-lr", "1", "--steps", "12", "--csv", csv, "--chart", chart);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());

        var suggestion = Regex.Match(r.Out, @"suggested learning rate: (\S+)");
        Assert.That(suggestion.Success, Is.True, r.Out);
        double rate = double.Parse(suggestion.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.That(rate, Is.GreaterThan(0).And.LessThanOrEqualTo(5e-4), "the suggestion is capped at LoRA's 5e-4");
        Assert.That(r.Out, Does.Contain("reason: suggested"));
        Assert.That(r.Out, Does.Contain("advice"));

        int steps = int.Parse(Regex.Match(r.Out, @"sweep: (\d+) of 12 steps").Groups[1].Value, CultureInfo.InvariantCulture);
        var lines = File.ReadAllLines(csv);
        Assert.That(lines[0], Is.EqualTo("step,lr,loss,smoothed_loss"));
        Assert.That(lines, Has.Length.EqualTo(steps + 1));
        double first = double.Parse(lines[1].Split(',')[1], CultureInfo.InvariantCulture);
        Assert.That(first, Is.EqualTo(1e-4).Within(1e-12), "the sweep starts at --min-lr");
        Assert.That(IsPng(chart), Is.True);
    }

    [Test]
    public void LrFind_CsvDash_PrintsCurveToStdout()
    {
        var r = CliRun.Run("lr-find", Llama, "--data", MobyDickSlice(Dir, 4_000), "--max-length", "32", "--steps", "6", "--csv", "-");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var rows = r.Out.Split('\n').SkipWhile(l => l != "step,lr,loss,smoothed_loss").Skip(1).Where(l => l.Length > 0).ToList();
        Assert.That(rows, Has.Count.EqualTo(6));
        Assert.That(rows[^1], Does.StartWith("6,"));
    }

    [Test]
    public void LrFind_MaxBelowMin_ExitsWithUsageError()
    {
        var r = CliRun.Run("lr-find", Llama, "--data", MobyDickSlice(Dir, 1_000), "--min-lr", "1e-2", "--max-lr", "1e-3");
        Assert.That(r.ExitCode, Is.EqualTo(CliApp.UsageExitCode), r.ToString());
        Assert.That(r.Error, Does.Contain("--max-lr (1e-3) must be above --min-lr (1e-2)"));
    }
}
