using System.Diagnostics;
using static MLNetLora.Tests.Cli.CliFixture;
using static MLNetLora.Tests.Cli.TrainingTestData;

namespace MLNetLora.Tests.Cli;

/// <summary>The train command under signals and misuse: nothing is lost, nothing is overwritten, and failures come before loading.</summary>
[NonParallelizable]
public sealed class TrainReliabilityTests : TempDirFixture
{
    private string Output => Path.Combine(Dir, "out");

    private string[] Args(params string[] extra) =>
        ["train", Llama, "--data", MobyDickSlice(Dir), "--output", Output, "--max-length", "64", "--lr", "1e-2", .. extra];

    private static string CliDll()
    {
        string config = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        string dll = Path.Combine(TestPaths.RepoRoot, "src", "MLNetLora.Cli", "bin", config, "net10.0", "mlnetlora.dll");
        Assert.That(File.Exists(dll), Is.True, $"{dll} was not built; build the solution.");
        return dll;
    }

    [TestCase("TERM", 143)]
    [TestCase("HUP", 129)]
    public void Train_StopSignal_FinishesTheStepWritesACheckpointSaysHowToResumeAndExits128PlusSignal(string signal, int expectedExit)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.ArgumentList.Add(CliDll());
        foreach (string a in Args("--max-steps", "100000", "--log-every", "1")) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = new System.Text.StringBuilder();
        var stepsSeen = new ManualResetEventSlim();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            if (e.Data.StartsWith("step 3/", StringComparison.Ordinal)) stepsSeen.Set();
        };
        var stderr = p.StandardError.ReadToEndAsync();
        p.BeginOutputReadLine();
        Assert.That(stepsSeen.Wait(TimeSpan.FromSeconds(90)), Is.True, "training did not reach step 3");
        using (var kill = Process.Start("kill", ["-" + signal, p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill!.WaitForExit();
        Assert.That(p.WaitForExit(60_000), Is.True, "the run did not stop within 60 s of the signal");
        p.WaitForExit();
        string all;
        lock (stdout) all = stdout + stderr.Result;
        Assert.That(p.ExitCode, Is.EqualTo(expectedExit), all);
        Assert.That(all, Does.Contain($"SIG{signal} received").And.Contain("--resume " + Output));
        var checkpoints = Directory.GetDirectories(Output, "checkpoint-*");
        Assert.That(checkpoints, Has.Length.EqualTo(1));
        Assert.That(File.Exists(Path.Combine(checkpoints[0], "trainer_state.json")), Is.True);

        var resumed = CliRun.Run(Args("--max-steps", "12", "--resume", Output));
        Assert.That(resumed.ExitCode, Is.EqualTo(0), resumed.ToString());
    }

    [Test]
    public void Train_OutputHoldingAnEarlierRunWithoutCheckpoints_RefusedAndLeftAlone()
    {
        Directory.CreateDirectory(Path.Combine(Output, "adapter"));
        File.WriteAllText(Path.Combine(Output, "adapter", "adapter_config.json"), "{}");
        File.WriteAllText(Path.Combine(Output, "metrics.jsonl"), "{\"type\":\"train\",\"step\":1}\n");
        var r = CliRun.Run(Args("--max-steps", "2"));
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Error, Does.Contain("already holds a training run (adapter/, metrics.jsonl)").And.Contain("--resume"));
        Assert.That(File.ReadAllText(Path.Combine(Output, "adapter", "adapter_config.json")), Is.EqualTo("{}"));
        Assert.That(r.Out, Does.Not.Contain("examples"), "refused before the data and model were loaded");
    }

    [Test]
    public void Train_MetricsPointedAtTheDataFile_RefusedAndTheDataKept()
    {
        string data = MobyDickSlice(Dir);
        string before = File.ReadAllText(data);
        var r = CliRun.Run("train", Llama, "--data", data, "--output", Output, "--metrics", data, "--max-steps", "2");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Error, Does.Contain("--metrics").And.Contain("is the training or evaluation data"));
        Assert.That(File.ReadAllText(data), Is.EqualTo(before));
    }

    [Test]
    public void Train_UnwritableOutput_RefusedBeforeLoadingNamingThePath()
    {
        string output = "/proc/mlnetlora-cannot-write-here";
        var r = CliRun.Run("train", Llama, "--data", MobyDickSlice(Dir), "--output", output, "--max-steps", "2");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Error, Does.Contain($"Cannot write to '{output}'").And.Contain("writable --output"));
        Assert.That(r.Out, Does.Not.Contain("examples"), "refused before the data and model were loaded");
    }

    [Test]
    public void Train_ResumeWithAnotherBatchSize_RefusedNamingTheFlag()
    {
        var first = CliRun.Run(Args("--max-steps", "3", "--checkpoint-every", "3"));
        Assert.That(first.ExitCode, Is.EqualTo(0), first.ToString());
        var r = CliRun.Run(Args("--max-steps", "6", "--batch-size", "4", "--resume", Output));
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Error, Does.Contain("--batch-size 8 in the checkpoint, 4 now"));
    }

    [Test]
    public void Train_ClassificationAtRateOne_ReportsDivergenceAndTheSmoothedLoss()
    {
        var r = CliRun.Run("train", Llama, "--data", MailJsonl(Dir, rows: 64), "--task", "classification", "--text-fields", "subject,body",
            "--output", Output, "--max-length", "32", "--batch-size", "4", "--epochs", "6", "--lr", "1");
        Assert.That(r.Out + r.Error, Does.Contain("warning: --lr 1e0 is 10000x the LoRA recommendation"), "a rate far outside LoRA's range is warned about before training");
        Assert.That(r.Out, Does.Contain("train loss (smoothed)"));
        if (r.Out.Contains("diverged", StringComparison.Ordinal))
            Assert.That(r.Out, Does.Contain("warning: the run is diverging"));
    }

    [Test]
    public void Tokenize_EmptyOrTruncatedTokenizerJson_NamesTheFileAndWhatToDo()
    {
        string model = Path.Combine(Dir, "model");
        Directory.CreateDirectory(model);
        File.Copy(Path.Combine(Llama, "config.json"), Path.Combine(model, "config.json"));
        File.WriteAllText(Path.Combine(model, "tokenizer.json"), "");
        var r = CliRun.Run("tokenize", model, "hello");
        Assert.That(r.Error, Does.Contain("tokenizer.json is empty (0 bytes)").And.Contain("Download tokenizer.json again"));
        File.WriteAllText(Path.Combine(model, "tokenizer.json"), File.ReadAllText(Path.Combine(Llama, "tokenizer.json"))[..5000]);
        r = CliRun.Run("tokenize", model, "hello");
        Assert.That(r.Error, Does.Contain("tokenizer.json is not valid JSON (").And.Contain("cut off"));
    }

    [Test]
    public void Inspect_AFileWhereAFolderIsExpected_SaysItIsAFile()
    {
        var r = CliRun.Run("inspect", Path.Combine(Llama, "config.json"));
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Error, Does.Contain("is a file, but a model folder is expected").And.Contain($"('{Llama}')"));
    }

    [Test]
    public void Train_MaxLengthAboveTheModelsPositions_UsageErrorBeforeLoading()
    {
        var r = CliRun.Run("train", Llama, "--data", MobyDickSlice(Dir), "--output", Output, "--max-length", "4096");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Error, Does.Contain("--max-length 4096 is more than the model's 512 positions"));
        Assert.That(r.Out, Does.Not.Contain("examples"));
    }

    [Test]
    public void Train_ResumeWithAnotherLoraRank_SaysToDropTheFlag()
    {
        var first = CliRun.Run(Args("--max-steps", "2", "--checkpoint-every", "2"));
        Assert.That(first.ExitCode, Is.EqualTo(0), first.ToString());
        var r = CliRun.Run(Args("--max-steps", "4", "--lora-r", "4", "--resume", Output));
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Error, Does.Contain("drop --lora-r"));
    }

    [Test]
    public void Merge_ToAnUnwritablePath_RefusedBeforeLoading()
    {
        var r = CliRun.Run("merge", Llama, "--adapter", Adapter, "--output", "/proc/mlnetlora-merge-here");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Error, Does.Contain("Cannot write to '/proc/mlnetlora-merge-here'"));
    }

    [Test]
    public void Train_DataWithInvalidUtf8_CountsTheReplacementsInThePlan()
    {
        string data = Path.Combine(Dir, "latin1.txt");
        var text = System.Text.Encoding.UTF8.GetBytes(File.ReadAllText(MobyDickSlice(Dir, 4000)));
        File.WriteAllBytes(data, [.. text, 0xE9, (byte)' ', 0xFC, (byte)'\n']);   // Latin-1 é and ü
        var r = CliRun.Run("train", Llama, "--data", data, "--output", Output, "--max-length", "64", "--max-steps", "1");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Does.Contain("warning: 2 invalid UTF-8 byte sequences were replaced"));
    }
}
