using MLNetLora.LibTorch;
using MLNetLora.Models.Transformer;
using MLNetLora.Tests.Models;
using MLNetLora.Training.Data;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Tests.Training;

/// <summary>What the trainer does for every caller: the seeded head, packing, checkpoint retention, and the scoring path.</summary>
public class TrainerOwnershipTests : TempDirFixture
{
    private static TrainerOptions Base() => new()
    {
        LearningRate = 5e-3, Scheduler = ScheduleKind.Constant, BatchSize = 4, MaxLength = 16, Seed = 3,
        Lora = new() { Rank = 2, Alpha = 4, TargetModules = ["q_proj", "v_proj"] },
    };

    private static List<TrainingExample> Rows(int n, int len, bool labels = false) =>
        Enumerable.Range(0, n).Select(i => new TrainingExample(Enumerable.Range(i, len).Select(t => t % 37).ToArray(), ClassLabel: labels ? i % 2 : null)).ToList();

    [Test]
    public void Constructor_Classification_AddsTheHeadFromTheSeedStream()
    {
        using var a = TinyModels.Create(Architecture.Llama, seed: 11);
        using var b = TinyModels.Create(Architecture.Llama, seed: 11);
        using (new LoraTrainer(a, Base() with { Task = TrainingTask.Classification }, classCount: 3)) { }
        b.AddClassificationHead(3, SeedStreams.HeadInit(3));
        Assert.That(a.ScoreHead!.NumLabels, Is.EqualTo(3));
        Assert.That(a.ScoreHead.Weight.ToArray<double>(), Is.EqualTo(b.ScoreHead!.Weight.ToArray<double>()));
        var e = Assert.Throws<ArgumentException>(() => new LoraTrainer(a, Base() with { Task = TrainingTask.Classification }, classCount: 2));
        Assert.That(e!.Message, Does.Contain("3 classes").And.Contain("has 2"));
    }

    [Test]
    public void Constructor_ClassificationWithoutClasses_SaysWhatIsMissing()
    {
        using var m = TinyModels.Create(Architecture.Llama, seed: 11);
        var e = Assert.Throws<ArgumentException>(() => new LoraTrainer(m, Base() with { Task = TrainingTask.Classification }));
        Assert.That(e!.Message, Does.Contain("at least two classes"));
    }

    [Test]
    public void Train_Packing_TrainsOnFullBlocks()
    {
        using var m = TinyModels.Create(Architecture.Llama, seed: 11);
        // 10 rows of 6 tokens + EOS = 70 tokens = 4 blocks of 16 → 1 micro-batch per epoch.
        using var trainer = new LoraTrainer(m, Base() with { Packing = true, Epochs = 2 }) { EosId = 2 };
        var r = trainer.Train(Rows(10, 6));
        Assert.That(r.Steps, Is.EqualTo(2));
        Assert.That(r.StopReason, Is.EqualTo(TrainingStopReason.Completed));
    }

    [Test]
    public void Train_KeepCheckpoints_KeepsOnlyTheNewest()
    {
        using var m = TinyModels.Create(Architecture.Llama, seed: 11);
        using var trainer = new LoraTrainer(m, Base() with { OutputDirectory = Dir, MaxSteps = 5, CheckpointEvery = 1, KeepCheckpoints = 2 });
        var r = trainer.Train(Rows(8, 8));
        Assert.That(r.StopReason, Is.EqualTo(TrainingStopReason.MaxSteps));
        var left = Directory.GetDirectories(Dir, "checkpoint-*").Select(Path.GetFileName).Order().ToArray();
        Assert.That(left, Is.EqualTo(new[] { "checkpoint-4", "checkpoint-5" }));
    }

    [Test]
    public void ClassificationScores_EqualTheTrainingStepsScores()
    {
        using var m = TinyModels.Create(Architecture.Llama, seed: 11);
        m.AddClassificationHead(2, new Generator(5));
        var b = Collator.Collate(Rows(3, 7, labels: true).Select((r, i) => r with { InputIds = r.InputIds[..(4 + i)] }).ToList(), 0, 16);
        using var scope = TensorScope.Begin();
        var (ids, mask) = b.ToTensors(m.Device);
        using var scores = m.ClassificationScores(ids, mask);
        var (_, viaStep) = m.ClassificationStep(ids, mask, b.ClassLabels!, backward: false);
        using (viaStep) Assert.That(scores.ToArray<double>(), Is.EqualTo(viaStep.ToArray<double>()));
        Assert.That(mask, Is.Not.Null, "rows of different lengths exercise the last-real-token pooling");
    }
}
