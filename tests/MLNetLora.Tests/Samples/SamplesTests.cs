using System.Diagnostics;

namespace MLNetLora.Tests.Samples;

/// <summary>
/// Every sample under samples/ in its short mode (<c>--quick</c>: three training steps), as built by the solution,
/// in a fresh process on the llama fixture: each must exit 0 and write what its comments promise.
/// </summary>
[NonParallelizable]
public sealed class SamplesTests : TempDirFixture
{
    private static string SampleDll(string name)
    {
        string config = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        string dll = Path.Combine(TestPaths.RepoRoot, "samples", name, "bin", config, "net10.0", name + ".dll");
        Assert.That(File.Exists(dll), Is.True, $"{dll} was not built; build the solution (the samples are part of it).");
        return dll;
    }

    private (int Exit, string Out) Run(string sample, params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Dir,   // no mlnetlora-demo here or above: the model comes from --model
        };
        psi.ArgumentList.Add(SampleDll(sample));
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.That(p.WaitForExit(180_000), Is.True, $"{sample} did not finish within 3 minutes");
        return (p.ExitCode, stdout + "\n--- stderr ---\n" + stderr.Result);
    }

    private string[] Quick(string output) => ["--quick", "--model", TestPaths.Fixture("llama"), "--output", Path.Combine(Dir, output)];

    [Test]
    public void SpamClassifier_ThenBatchScoring_TrainSaveReloadPredictAndScoreEveryRow()
    {
        var (exit, output) = Run("SpamClassifier", Quick("spam"));
        Assert.That(exit, Is.EqualTo(0), output);
        string zip = Path.Combine(Dir, "spam", "SpamClassifier.zip");
        Assert.That(File.Exists(zip), Is.True, output);
        Assert.That(File.Exists(Path.Combine(Dir, "spam", "peft-adapter", "adapter_config.json")), Is.True);
        Assert.That(output, Does.Contain("held-out accuracy"));
        // The two Predict calls of the consumption file, each with a class name from the data.
        Assert.That(output.Split('\n').Count(l => l.StartsWith("ham ", StringComparison.Ordinal) || l.StartsWith("spam ", StringComparison.Ordinal)), Is.EqualTo(2), output);

        (exit, output) = Run("BatchScoring", [.. Quick("batch"), "--classifier", zip]);
        Assert.That(exit, Is.EqualTo(0), output);
        var lines = File.ReadAllLines(Path.Combine(Dir, "batch", "scored.tsv"));
        Assert.That(lines[0], Is.EqualTo("Id\tPredicted\tProbability"));
        Assert.That(lines, Has.Length.EqualTo(65), "64 rows in quick mode and a header");
        for (int i = 1; i < lines.Length; i++)
        {
            var f = lines[i].Split('\t');
            Assert.That(f[0], Is.EqualTo(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), "rows keep their order");
            Assert.That(f[1], Is.AnyOf("ham", "spam"));
            Assert.That(double.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture), Is.InRange(0.5, 1.0), "the predicted class's probability");
        }
        Assert.That(output, Does.Match(@"scored 64 rows in [\d.]+ s: \d+ rows/s"));
    }

    [Test]
    public void BatchScoring_NoClassifier_SaysWhichSampleToRunFirst()
    {
        var (exit, output) = Run("BatchScoring", Quick("batch"));
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(output, Does.Contain("run samples/SpamClassifier first, or pass --classifier ZIP"));
    }

    [Test]
    public void InstructionTuning_Quick_AnswersThroughAPredictionEngine()
    {
        var (exit, output) = Run("InstructionTuning", Quick("qa"));
        Assert.That(exit, Is.EqualTo(0), output);
        Assert.That(File.Exists(Path.Combine(Dir, "qa", "Answerer.zip")), Is.True);
        Assert.That(output, Does.Match(@"held-out answers: loss [\d.]+, perplexity [\d.]+ over \d+ tokens"));
        Assert.That(output.Split('\n').Count(l => l.StartsWith("trained ", StringComparison.Ordinal) || l.StartsWith("held-out  Q:", StringComparison.Ordinal)), Is.EqualTo(4), output);
    }

    [Test]
    public void ChooseLearningRate_Quick_DrawsTheSweepAndKeepsTheBestTrial()
    {
        var (exit, output) = Run("ChooseLearningRate", Quick("lr"));
        Assert.That(exit, Is.EqualTo(0), output);
        Assert.That(File.ReadAllBytes(Path.Combine(Dir, "lr", "lr-finder.png"))[..4], Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47 }));
        Assert.That(output, Does.Contain("range test: 12 steps"));
        Assert.That(output, Does.Match(@"chosen: \S+ \(held-out perplexity [\d.]+\)"));
        Assert.That(File.Exists(Path.Combine(Dir, "lr", "Answerer.zip")), Is.True);
    }

    [Test]
    public void LoraQuickstart_MaxSteps_TrainsEvaluatesGeneratesAndWritesAnAdapter()
    {
        string text = Path.Combine(Dir, "moby.txt");
        File.WriteAllLines(text, File.ReadLines(TestPaths.Data("moby-dick.txt")).Skip(500).Take(400));
        var (exit, output) = Run("LoraQuickstart", TestPaths.Fixture("llama"), text, Path.Combine(Dir, "quick"), "--max-steps", "3");
        Assert.That(exit, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("step 3/3").And.Match(@"validation loss [\d.]+ -> [\d.]+").And.Contain("sample: Call me"));
        Assert.That(File.Exists(Path.Combine(Dir, "quick", "adapter", "adapter_model.safetensors")), Is.True);
        Assert.That(File.Exists(Path.Combine(Dir, "quick", "curves.png")), Is.True);
    }

    [Test]
    public void Samples_NoModelAnywhere_SayHowToGetOne()
    {
        var (exit, output) = Run("SpamClassifier", "--quick", "--output", Path.Combine(Dir, "none"));
        Assert.That(exit, Is.Not.EqualTo(0));
        Assert.That(output, Does.Contain("No base model: pass --model DIR"));
    }
}
