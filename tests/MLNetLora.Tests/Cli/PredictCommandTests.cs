using static MLNetLora.Tests.Cli.CliFixture;
using static MLNetLora.Tests.Cli.TrainingTestData;

namespace MLNetLora.Tests.Cli;

/// <summary>predict scores texts with a classification adapter; generate refuses one and warns about sampling flags when greedy.</summary>
public sealed class PredictCommandTests : TempDirFixture
{
    private string TrainClassifier()
    {
        string output = Path.Combine(Dir, "run");
        var r = CliRun.Run("train", Llama, "--data", MailJsonl(Dir), "--task", "classification", "--text-fields", "subject,body",
            "--output", output, "--max-length", "32", "--max-steps", "3", "--lr", "1e-2");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        return Path.Combine(output, "adapter");
    }

    [Test]
    public void Predict_ClassificationAdapter_PrintsTheClassNamesAndProbabilitiesPerText()
    {
        string adapter = TrainClassifier();
        string input = Path.Combine(Dir, "texts.txt");
        File.WriteAllLines(input, ["free money click now", "meeting notes for tuesday"]);
        var r = CliRun.Run("predict", Llama, "--adapter", adapter, "--input", input, "--max-length", "32");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(2));
        foreach (string line in lines)
        {
            var cells = line.Split('\t');
            Assert.That(cells[0], Is.AnyOf("ham", "spam"), "names from the run's labels.json");
            var probs = System.Text.RegularExpressions.Regex.Matches(cells[1], @"\d\.\d{3}").Select(m => double.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.That(probs.Sum(), Is.EqualTo(1.0).Within(0.002));
        }
    }

    [Test]
    public void Generate_ClassificationAdapter_SaysToUsePredict()
    {
        string adapter = TrainClassifier();
        var r = CliRun.Run("generate", Llama, "--adapter", adapter, "--prompt", "hi");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Error, Does.Contain("classification adapter").And.Contain("mlnetlora predict"));
    }

    [Test]
    public void Generate_TemperatureWhileGreedy_Warns()
    {
        var r = CliRun.Run("generate", Llama, "--prompt", "hi", "--temperature", "0.5", "--max-new-tokens", "2");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Error, Does.Contain("warning: --temperature applies only when sampling"));
    }

    [Test]
    public void Predict_CausalLmAdapter_SaysToUseGenerate()
    {
        var r = CliRun.Run("predict", Llama, "--adapter", Adapter, "--text", "hi");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Error, Does.Contain("no classification head").And.Contain("mlnetlora generate"));
    }
}
