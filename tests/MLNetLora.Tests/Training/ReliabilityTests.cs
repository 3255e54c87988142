using System.Text.Json;
using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Transformer;
using MLNetLora.Tests.Models;
using MLNetLora.Training.Data;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;
using MLNetLora.Training.Watchdog;

namespace MLNetLora.Tests.Training;

/// <summary>Fault injection and the checks that keep a run from losing work or ending with a silent wrong result.</summary>
[NonParallelizable]
public sealed class ReliabilityTests : TempDirFixture
{
    /// <summary>A disk that fills up: writes succeed until <paramref name="capacity"/> bytes, then fail as Linux does (ENOSPC).</summary>
    private sealed class FullDiskStream(Stream inner, long capacity) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            long room = capacity - inner.Length;
            if (count > room)
            {
                inner.Write(buffer, offset, (int)Math.Max(0, room));   // the torn line a real full disk leaves
                inner.Flush();
                throw new IOException("No space left on device");
            }
            inner.Write(buffer, offset, count);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }

    private static List<TrainingExample> Rows(int n) =>
        Enumerable.Range(0, n).Select(i => new TrainingExample(Enumerable.Range(0, 12).Select(k => (i * 3 + k) % 37).ToArray())).ToList();

    private static TrainerOptions Options(string output) => new()
    {
        LearningRate = 5e-3, WarmupSteps = 1, BatchSize = 4, MaxLength = 16, Epochs = 2, Seed = 3,
        Lora = new() { Rank = 2, Alpha = 4, TargetModules = ["q_proj", "v_proj"] },
        OutputDirectory = output, MetricsFile = Path.Combine(output, "metrics.jsonl"), CheckpointEvery = 4,
    };

    private static long[] TrainSteps(string metrics) => File.ReadLines(metrics).Where(l => l.Length > 0)
        .Select(l => JsonDocument.Parse(l).RootElement).Where(r => r.GetProperty("type").GetString() == "train")
        .Select(r => r.GetProperty("step").GetInt64()).ToArray();

    [Test]
    public void Train_DiskFullWhileWritingMetrics_StopsWithACheckpointAndResumesToOneCleanFile()
    {
        string output = Path.Combine(Dir, "run");
        var options = Options(output);
        // Room for a few rows: the disk fills during step 6's row, mid-line.
        MetricsWriter.OpenForTests = path => new FullDiskStream(new FileStream(path, FileMode.Append, FileAccess.Write), 5 * 200 + 120);
        TrainingResult stopped;
        try
        {
            using var model = TinyModels.Create(Architecture.Llama, seed: 11);
            using var trainer = new LoraTrainer(model, options);
            stopped = trainer.Train(Rows(40));
        }
        finally
        {
            MetricsWriter.OpenForTests = null;
        }
        Assert.That(stopped.StopReason, Is.EqualTo(TrainingStopReason.WriteFailed), stopped.StopMessage);
        Assert.That(stopped.StopMessage, Does.Contain("No space left on device"));
        Assert.That(Directory.Exists(Path.Combine(output, $"checkpoint-{stopped.Steps}")), Is.True, "the stop writes a checkpoint");
        Assert.That(File.ReadAllText(options.MetricsFile!), Does.Not.EndWith("\n"), "the full disk left a torn line");

        using var model2 = TinyModels.Create(Architecture.Llama, seed: 11);
        using var resumed = new LoraTrainer(model2, options with { ResumeFrom = output });
        var done = resumed.Train(Rows(40));
        Assert.That(done.StopReason, Is.EqualTo(TrainingStopReason.Completed));
        Assert.That(TrainSteps(options.MetricsFile!), Is.EqualTo(Enumerable.Range(1, 20).Select(i => (long)i)), "every step once, in order");
    }

    [Test]
    public void Train_Resume_CutsTornLineAndLaterRowsAndRemovesInterruptedCheckpointWrites()
    {
        string output = Path.Combine(Dir, "run");
        var options = Options(output);
        using (var model = TinyModels.Create(Architecture.Llama, seed: 11))
        using (var trainer = new LoraTrainer(model, options with { MaxSteps = 6 }))
            trainer.Train(Rows(40));
        File.AppendAllText(options.MetricsFile!, "{\"type\":\"train\",\"st");
        Directory.CreateDirectory(Path.Combine(output, ".checkpoint-8.tmp-0123"));
        var log = new List<string>();
        using var model2 = TinyModels.Create(Architecture.Llama, seed: 11);
        using var resumed = new LoraTrainer(model2, options with { MaxSteps = 6, ResumeFrom = Path.Combine(output, "checkpoint-4"), Log = log.Add });
        resumed.Train(Rows(40));
        Assert.That(TrainSteps(options.MetricsFile!), Is.EqualTo(new long[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That(Directory.Exists(Path.Combine(output, ".checkpoint-8.tmp-0123")), Is.False);
        Assert.That(log, Has.Some.Contains("removed 3 rows written after step 4"));
    }

    [Test]
    public void Train_ResumeWithOtherBatchOrRate_RefusedListingWhatDiffers_RateAllowedWithOverride()
    {
        string output = Path.Combine(Dir, "run");
        var options = Options(output) with { MaxSteps = 4 };
        using (var model = TinyModels.Create(Architecture.Llama, seed: 11))
        using (var trainer = new LoraTrainer(model, options))
            trainer.Train(Rows(40));
        TrainerOptionException Refusal(TrainerOptions o)
        {
            using var m = TinyModels.Create(Architecture.Llama, seed: 11);
            using var t = new LoraTrainer(m, o);
            return Assert.Throws<TrainerOptionException>(() => t.Train(Rows(40)))!;
        }
        var e = Refusal(options with { MaxSteps = 8, ResumeFrom = output, BatchSize = 2 });
        Assert.That(e.Property, Is.EqualTo("ResumeFrom"));
        Assert.That(e.Message, Does.Contain("BatchSize 4 in the checkpoint, 2 now"));
        e = Refusal(options with { MaxSteps = 8, ResumeFrom = output, LearningRate = 1e-3 });
        Assert.That(e.Message, Does.Contain("LearningRate 5e-3 in the checkpoint, 1e-3 now").And.Contain("OverrideRateOnResume"));
        e = Refusal(options with { MaxSteps = 8, ResumeFrom = output, Lora = options.Lora with { Rank = 4 } });
        Assert.That(e.Message, Does.Contain("Lora.Rank 2 in the checkpoint, 4 now"));

        using var model2 = TinyModels.Create(Architecture.Llama, seed: 11);
        using var ok = new LoraTrainer(model2, options with { MaxSteps = 8, ResumeFrom = output, LearningRate = 1e-3, OverrideRateOnResume = true });
        Assert.That(ok.Train(Rows(40)).Steps, Is.EqualTo(8));
    }

    [Test]
    public void Resolve_NewestCheckpointDamaged_FallsBackToThePreviousAndSaysSo_ADamagedFolderGivenDirectlyNamesTheFile()
    {
        string output = Path.Combine(Dir, "run");
        var options = Options(output) with { MaxSteps = 8 };
        using (var model = TinyModels.Create(Architecture.Llama, seed: 11))
        using (var trainer = new LoraTrainer(model, options))
            trainer.Train(Rows(40));
        string optimizer = Path.Combine(output, "checkpoint-8", TrainingCheckpoint.OptimizerFileName);
        var bytes = File.ReadAllBytes(optimizer);
        File.WriteAllBytes(optimizer, bytes[..(bytes.Length / 2)]);
        var log = new List<string>();
        Assert.That(TrainingCheckpoint.Resolve(output, log.Add), Is.EqualTo(Path.Combine(output, "checkpoint-4")));
        Assert.That(log, Has.Some.Contains("skipping damaged checkpoint checkpoint-8"));
        var e = Assert.Throws<CheckpointException>(() => TrainingCheckpoint.Resolve(Path.Combine(output, "checkpoint-8")));
        Assert.That(e!.Message, Does.Contain("optimizer.safetensors"));

        File.WriteAllText(Path.Combine(output, "checkpoint-4", TrainingCheckpoint.StateFileName), "{\"Step\": 4, \"Epo");
        e = Assert.Throws<CheckpointException>(() => TrainingCheckpoint.Resolve(output));
        Assert.That(e!.Message, Does.Contain("trainer_state.json").And.Contain("not valid JSON"));
    }

    [Test]
    public void Watchdog_HeavyTailedHealthyClassification_NoDivergence_RisingSmoothedLoss_Diverges()
    {
        var healthy = new LossWatchdog(new WatchdogOptions { ZThreshold = double.PositiveInfinity });
        var rng = new Random(5);
        for (int s = 0; s < 300; s++)
        {
            double loss = s < 30 ? 0.7 - s * 0.02 : rng.NextDouble() < 0.05 ? 3.0 : 0.01;   // easy batches, a rare misclassified one
            healthy.Observe(new StepObservation(s, loss, 0.5, 1e-4));
        }
        Assert.That(healthy.Events.Where(e => e.Kind == WatchdogEventKind.Divergence), Is.Empty);

        // --lr 1 on classification: 0.73 climbing to ~100 while single batches still read 0.1 now and then.
        var diverging = new LossWatchdog(new WatchdogOptions { ZThreshold = double.PositiveInfinity });
        for (int s = 0; s < 120; s++)
        {
            double loss = s % 7 == 0 ? 0.1 : 0.73 * Math.Exp(s / 25.0);
            diverging.Observe(new StepObservation(s, loss, 0.5, 1.0));
        }
        var div = diverging.Events.Where(e => e.Kind == WatchdogEventKind.Divergence).ToList();
        Assert.That(div, Has.Count.EqualTo(1), "raised once");
        Assert.That(div[0].Message, Does.Contain("diverging").And.Contain("Lower LearningRate"));
    }

    [Test]
    public void Watchdog_GradientNormZeroFor25Steps_WarnsOnce()
    {
        var dog = new LossWatchdog();
        for (int s = 0; s < 60; s++) dog.Observe(new StepObservation(s, Math.Log(2048), 0.0, 2e-4));
        var ev = dog.Events.Where(e => e.Kind == WatchdogEventKind.VanishingGradient).ToList();
        Assert.That(ev, Has.Count.EqualTo(1));
        Assert.That(ev[0].Step, Is.EqualTo(24));
        Assert.That(ev[0].Message, Does.Contain("nothing is learning"));
    }

    [Test]
    public void Load_NaNInABaseWeight_RefusedNamingTheTensor()
    {
        string copy = Path.Combine(Dir, "nan-model");
        Directory.CreateDirectory(copy);
        foreach (string f in Directory.GetFiles(TestPaths.Fixture("llama"))) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        string weights = Path.Combine(copy, "model.safetensors");
        TensorInfo info;
        using (var st = SafeTensorsFile.Open(weights))
            info = st.GetInfo("model.layers.1.mlp.down_proj.weight");
        var bytes = File.ReadAllBytes(weights);
        long dataStart = 8 + BitConverter.ToInt64(bytes, 0);
        BitConverter.GetBytes(float.NaN).CopyTo(bytes, dataStart + info.DataStart + 4 * 7);
        File.WriteAllBytes(weights, bytes);
        var e = Assert.Throws<CheckpointException>(() => PretrainedModel.Load(copy, Device.Cpu));
        Assert.That(e!.Message, Does.Contain("model.layers.1.mlp.down_proj.weight").And.Contain("NaN"));
    }

    [Test]
    public void ScheduleWarnings_RateFarAboveTheMethodAndWarmupLongerThanTheRun_Warned_DefaultsNot()
    {
        var o = new TrainerOptions { LearningRate = 1.0 };
        var w = o.ScheduleWarnings(o.ResolveSchedule(100));
        Assert.That(w, Has.Some.StartsWith("LearningRate 1e0 is"));
        var warm = new TrainerOptions { WarmupSteps = 100_000 };
        Assert.That(warm.ScheduleWarnings(warm.ResolveSchedule(10)), Has.Some.StartsWith("WarmupSteps 100000 is not shorter than the run's 10 steps"));
        var d = new TrainerOptions();
        Assert.That(d.ScheduleWarnings(d.ResolveSchedule(100)), Is.Empty);
    }

    [Test]
    public void RunIdentity_OtherBaseModelOfTheSameShapes_IsADifference()
    {
        var rows = Rows(8);
        var o = new TrainerOptions { BaseModelNameOrPath = "/models/a" };
        var saved = RunIdentity.Of(o, rows, "aaaa", ["model.layers.0.self_attn.q_proj"]);
        var now = RunIdentity.Of(o with { BaseModelNameOrPath = "/models/b" }, rows, "bbbb", ["model.layers.0.self_attn.q_proj"]);
        Assert.That(saved.Differences(now, overrideRate: false), Has.One.Contains("the base model differs (/models/a in the checkpoint, /models/b now"));
        Assert.That(saved.Differences(saved with { }, overrideRate: false), Is.Empty);
        var otherData = RunIdentity.Of(o, Rows(8).Select(r => r with { InputIds = [.. r.InputIds.Reverse()] }).ToList(), "aaaa", ["model.layers.0.self_attn.q_proj"]);
        Assert.That(saved.Differences(otherData, overrideRate: false), Has.One.Contains("the data differs"));
    }

    [Test]
    public void Train_ResumeWithAnotherMaxSteps_SaysWhatHappensToTheSchedule()
    {
        string output = Path.Combine(Dir, "run");
        var options = Options(output) with { MaxSteps = 4 };
        using (var model = TinyModels.Create(Architecture.Llama, seed: 11))
        using (var trainer = new LoraTrainer(model, options))
            trainer.Train(Rows(40));
        var log = new List<string>();
        using var model2 = TinyModels.Create(Architecture.Llama, seed: 11);
        using var resumed = new LoraTrainer(model2, options with { MaxSteps = 6, ResumeFrom = output, Log = log.Add });
        Assert.That(resumed.Train(Rows(40)).Steps, Is.EqualTo(6));
        Assert.That(log, Has.Some.Contains("plans 6 steps").And.Some.Contains("resolved for 4"));
    }
}
