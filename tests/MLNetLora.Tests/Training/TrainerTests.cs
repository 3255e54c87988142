using System.Text.Json;
using MLNetLora.LibTorch;
using MLNetLora.Models.Transformer;
using MLNetLora.Tests.Models;
using MLNetLora.Training.Data;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;
using MLNetLora.Training.Watchdog;

namespace MLNetLora.Tests.Training;

public class TrainerTests
{
    // Ragged lengths exercise padding.
    private static List<TrainingExample> Counting(int rows, int length, ulong seed) => TrainingRows.Counting(rows, length, seed, ragged: true);


    private static DecoderModel NewModel() => TinyModels.Create(Architecture.Llama, seed: 11);

    private static TrainerOptions Base(string? output = null) => new()
    {
        LearningRate = 5e-3, Scheduler = ScheduleKind.Cosine, WarmupSteps = 2, BatchSize = 4, MaxLength = 16,
        Lora = new() { Rank = 2, Alpha = 4, TargetModules = ["q_proj", "v_proj", "down_proj"] }, OutputDirectory = output, Seed = 3,
    };

    private static double[] AdapterValues(DecoderModel m) =>
        m.Adapters.Values.SelectMany(a => a.A.ToArray<double>().Concat(a.B.ToArray<double>())).ToArray();

    [Test]
    public void Step_AccumulatedMicroBatches_EqualOneBigBatch()
    {
        var rows = Counting(4, 10, 1);
        double[] Run(int accum)
        {
            using var model = NewModel();
            using var trainer = new LoraTrainer(model, Base() with { GradientAccumulation = accum, BatchSize = 4 / accum });
            trainer.Prepare(10);
            var micro = Enumerable.Range(0, accum).Select(k => Collator.Collate(rows.Skip(k * 4 / accum).Take(4 / accum).ToList(), 0, 16)).ToList();
            var m = trainer.Step(micro);
            return [m.Loss, m.GradNorm, .. AdapterValues(model)];
        }
        var one = Run(1);
        var two = Run(2);
        var four = Run(4);
        // Row lengths differ, so a per-micro-batch mean would weigh tokens differently; the normalised sum does not.
        Assert.That(two, Is.EqualTo(one).Within(1e-10));
        Assert.That(four, Is.EqualTo(one).Within(1e-10));
    }

    [Test]
    public void Train_FallingLoss_WritesMetricsAndAdapter()
    {
        string dir = TestPaths.NewTempDir();
        using var model = NewModel();
        var options = Base(dir) with { Epochs = 3, MetricsFile = Path.Combine(dir, "metrics.jsonl"), EvalEvery = 4 };
        using var trainer = new LoraTrainer(model, options);
        var reports = new List<TrainingProgress>();
        var result = trainer.Train(Counting(32, 12, 2), Counting(8, 12, 99), new SyncProgress<TrainingProgress>(reports.Add));
        Assert.That(result.Steps, Is.EqualTo(24));
        Assert.That(result.Evaluations[^1].Loss, Is.LessThan(result.Evaluations[0].Loss));
        Assert.That(reports, Has.Count.EqualTo(24));
        Assert.That(reports[^1].Eta, Is.EqualTo(TimeSpan.Zero));
        var lines = File.ReadAllLines(options.MetricsFile!).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var train = lines.Where(l => l.GetProperty("type").GetString() == "train").ToList();
        Assert.That(train, Has.Count.EqualTo(24));
        foreach (var key in new[] { "step", "epoch", "lr", "loss", "grad_norm", "tokens_per_s" })
            Assert.That(train[0].TryGetProperty(key, out _), Is.True, key);
        Assert.That(train[0].GetProperty("lr").GetDouble(), Is.EqualTo(0.0), "warmup starts at zero");
        Assert.That(train[2].GetProperty("lr").GetDouble(), Is.EqualTo(5e-3).Within(1e-15), "peak after 2 warmup steps");
        Assert.That(lines.Count(l => l.GetProperty("type").GetString() == "eval"), Is.EqualTo(result.Evaluations.Count));
        Assert.That(File.Exists(Path.Combine(dir, "adapter", "adapter_model.safetensors")), Is.True);
        Assert.That(File.Exists(Path.Combine(dir, "best-adapter", "adapter_config.json")), Is.True);
    }

    [Test]
    public void Resume_FromCheckpoint_ContinuesSameLossesAndRates()
    {
        var data = Counting(24, 12, 4);
        string full = TestPaths.NewTempDir(), part = TestPaths.NewTempDir();
        List<TrainingProgress> Run(TrainerOptions o, CancellationToken ct = default)
        {
            var list = new List<TrainingProgress>();
            using var model = NewModel();
            using var trainer = new LoraTrainer(model, o);
            trainer.Train(data, null, new SyncProgress<TrainingProgress>(list.Add), ct);
            return list;
        }
        var baseline = Run(Base(full) with { Epochs = 2, Lora = Base().Lora with { Dropout = 0.1 } });
        using var cts = new CancellationTokenSource();
        var first = new List<TrainingProgress>();
        using (var model = NewModel())
        using (var trainer = new LoraTrainer(model, Base(part) with { Epochs = 2, Lora = Base().Lora with { Dropout = 0.1 } }))
        {
            var r = trainer.Train(data, null, new SyncProgress<TrainingProgress>(p => { first.Add(p); if (p.Step == 5) cts.Cancel(); }), cts.Token);
            Assert.That(r.Cancelled, Is.True);
            Assert.That(r.LastCheckpoint, Does.EndWith("checkpoint-5"));
        }
        var rest = Run(Base(part) with { Epochs = 2, Lora = Base().Lora with { Dropout = 0.1 }, ResumeFrom = part });
        Assert.That(rest[0].Step, Is.EqualTo(6));
        var combined = first.Concat(rest).ToList();
        Assert.That(combined.Select(p => p.Step), Is.EqualTo(baseline.Select(p => p.Step)));
        Assert.That(combined.Select(p => p.LearningRate), Is.EqualTo(baseline.Select(p => p.LearningRate)), "the rate curve continues, it does not restart");
        Assert.That(combined.Select(p => p.Loss), Is.EqualTo(baseline.Select(p => p.Loss)).Within(1e-12));
    }

    [Test]
    public void Watchdog_PlantedNaN_IsSkipped_AndTrainingContinues()
    {
        using var model = NewModel();
        using var trainer = new LoraTrainer(model, Base() with { Watchdog = new WatchdogOptions { Policy = WatchdogPolicy.SkipUpdate } });
        trainer.Prepare(10);
        var batch = Collator.Collate(Counting(4, 10, 5), 0, 16);
        trainer.Step([batch]);
        var q = model.Adapters.Values.First();
        var saved = q.B.ToArray<double>();
        var poisoned = (double[])saved.Clone();
        poisoned[0] = double.NaN;
        using (var t = Tensor.FromArray(poisoned, q.B.Shape)) q.B.CopyFrom(t);
        var before = AdapterValues(model);
        var m = trainer.Step([batch]);
        Assert.That(double.IsNaN(m.Loss), Is.True);
        Assert.That(m.Decision.Action, Is.EqualTo(WatchdogAction.SkipUpdate));
        Assert.That(AdapterValues(model), Is.EqualTo(before), "a skipped update changes nothing");
        Assert.That(trainer.WatchdogEvents.Select(e => e.Kind), Does.Contain(WatchdogEventKind.NonFiniteLoss));
    }

    [Test]
    public void Watchdog_PlantedSpike_RollsBackAndLowersRate()
    {
        using var model = NewModel();
        var wd = new WatchdogOptions { Policy = WatchdogPolicy.RollbackAndLowerRate, MinWindow = 8, LowerRateFactor = 0.5 };
        using var trainer = new LoraTrainer(model, Base() with { LearningRate = 1e-3, Watchdog = wd }) { SnapshotEvery = 5 };
        trainer.Prepare(100);
        var data = Counting(40, 10, 6);
        // The same batch every step keeps the loss window tight, so a planted jump stands out.
        var seen = new List<double>();
        for (int s = 0; s < 10; s++) seen.Add(trainer.Step([Collator.Collate(data.Take(4).ToList(), 0, 16)]).Loss);
        var goodState = AdapterValues(model);
        // Plant the spike: sharpen the (frozen) LM head 30x, so wrong predictions become confident.
        var head = model.LmHead.Weight;
        using (var sharp = head * 30.0) head.CopyFrom(sharp);
        var m = trainer.Step([Collator.Collate(data.Take(4).ToList(), 0, 16)]);
        Assert.That(m.Decision.Action, Is.EqualTo(WatchdogAction.RollbackAndLowerRate), $"loss {m.Loss} after {string.Join(", ", seen)}");
        Assert.That(trainer.RateFactor, Is.EqualTo(0.5));
        Assert.That(AdapterValues(model), Is.EqualTo(goodState), "rolled back to the snapshot taken after step 10");
        Assert.That(trainer.WatchdogEvents.Select(e => e.Kind), Does.Contain(WatchdogEventKind.LossSpike));
    }

    [Test]
    public void Train_EarlyStopping_StopsWhenEvalLossStopsImproving()
    {
        using var model = NewModel();
        // A rate this high makes the held-out loss worse after the first steps.
        var options = Base() with { LearningRate = 0.3, Scheduler = ScheduleKind.Constant, Epochs = 20, EvalEvery = 1, EarlyStoppingPatience = 2,
            Watchdog = new WatchdogOptions { MinWindow = 100 } };
        using var trainer = new LoraTrainer(model, options);
        var r = trainer.Train(Counting(8, 12, 7), Counting(8, 12, 70));
        Assert.That(r.StopReason, Is.EqualTo(TrainingStopReason.EarlyStopping));
        Assert.That(r.StopMessage, Does.StartWith("early stopping"));
        Assert.That(r.Steps, Is.LessThan(40));
        var evals = r.Evaluations.Select(e => e.Loss).ToList();
        Assert.That(evals[^1], Is.GreaterThanOrEqualTo(r.BestEvalLoss!.Value));
    }

    [Test]
    public void Train_SameSeed_IsBitForBitRepeatable()
    {
        var data = Counting(16, 12, 8);
        List<double> Run()
        {
            var losses = new List<double>();
            using var model = NewModel();
            using var trainer = new LoraTrainer(model, Base() with { Epochs = 2, Lora = Base().Lora with { Dropout = 0.2 } });
            trainer.Train(data, null, new SyncProgress<TrainingProgress>(p => losses.Add(p.Loss)));
            losses.AddRange(AdapterValues(model));
            return losses;
        }
        var first = Run();
        var second = Run();
        Assert.That(second, Is.EqualTo(first));
    }

    [Test]
    public void Train_Classification_LearnsSeparableClasses()
    {
        // Class 1 rows are made of tokens 20..36, class 0 rows of tokens 0..16: easy to separate.
        var g = new Generator(9);
        List<TrainingExample> Rows(int n) => Enumerable.Range(0, n).Select(i =>
        {
            int cls = i % 2;
            var ids = Enumerable.Range(0, 8).Select(_ => (int)g.NextInt64(17) + (cls == 1 ? 20 : 0)).ToArray();
            return new TrainingExample(ids, ClassLabel: cls);
        }).ToList();
        using var model = NewModel();
        model.AddClassificationHead(2, new Generator(1));
        var options = Base() with { Task = TrainingTask.Classification, LearningRate = 3e-2, Epochs = 8, EvalEvery = 8 };
        using var trainer = new LoraTrainer(model, options);
        var r = trainer.Train(Rows(32), Rows(16));
        Assert.That(r.Evaluations[^1].Accuracy, Is.GreaterThanOrEqualTo(0.9), string.Join(", ", r.Evaluations.Select(e => $"{e.Loss:F3}/{e.Accuracy:F2}")));
        Assert.That(r.Evaluations[^1].Loss, Is.LessThan(r.Evaluations[0].Loss));
        Assert.That(model.ScoreHead!.Grad.Abs().Sum().ToDouble(), Is.GreaterThan(0), "the head is trained");
    }

}
