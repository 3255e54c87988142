using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Transformer;
using MLNetLora.Tests.Models;
using MLNetLora.Training.Data;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Tests.Training;

/// <summary>Training with <c>LoraSettings.UseDora</c>: the magnitudes learn, and checkpoints carry them and their moments.</summary>
public class DoraTrainerTests
{

    // A tiny float64 Llama without adapters: the trainer adds DoRA ones from its options.
    private static DecoderModel NewModel() => TinyModels.CreateBase(Architecture.Llama, seed: 11);

    private static TrainerOptions Options(string? output = null, bool dora = true) => new()
    {
        LearningRate = 5e-3, Scheduler = ScheduleKind.Cosine, WarmupSteps = 2, BatchSize = 4, MaxLength = 16, Seed = 3, OutputDirectory = output,
        Lora = new() { Rank = 2, Alpha = 4, Dropout = 0.1, UseDora = dora, TargetModules = ["q_proj", "v_proj", "down_proj"] },
    };

    [Test]
    public void Step_UseDora_OverfitsOneRepeatedBatch()
    {
        using var model = NewModel();
        using var trainer = new LoraTrainer(model, Options() with
        {
            LearningRate = 2e-2, Scheduler = ScheduleKind.Constant, WarmupSteps = 0, Lora = Options().Lora with { Dropout = 0 },
        });
        trainer.Prepare(30);
        var initial = model.Adapters.Values.Select(a => a.Magnitude!.ToArray<double>()).ToList();
        var batch = Collator.Collate(TrainingRows.Counting(4, 12, 1), 0, 16);
        var losses = Enumerable.Range(0, 30).Select(_ => trainer.Step([batch]).Loss).ToList();
        TestContext.Out.WriteLine($"DoRA overfit: loss {losses[0]:F4} -> {losses[^1]:F4} ({losses[^1] / losses[0]:P0})");
        Assert.That(model.Adapters.Values.All(a => a.IsDora), Is.True);
        Assert.That(losses[^1], Is.LessThan(0.6 * losses[0]));
        var moved = model.Adapters.Values.Select((a, i) => a.Magnitude!.ToArray<double>().Zip(initial[i], (x, y) => Math.Abs(x - y)).Max());
        Assert.That(moved, Is.All.GreaterThan(1e-4), "the optimizer updates every magnitude vector");
    }

    [Test]
    public void Resume_DoraCheckpoint_ContinuesTheSameLosses()
    {
        var data = TrainingRows.Counting(24, 12, 4);
        string full = TestPaths.NewTempDir(), part = TestPaths.NewTempDir();
        List<double> Run(TrainerOptions o, CancellationToken ct = default, Action<TrainingProgress>? onStep = null)
        {
            var list = new List<double>();
            using var model = NewModel();
            using var trainer = new LoraTrainer(model, o);
            trainer.Train(data, null, new SyncProgress<TrainingProgress>(p => { list.Add(p.Loss); onStep?.Invoke(p); }), ct);
            return list;
        }
        var baseline = Run(Options(full) with { Epochs = 2 });
        using var cts = new CancellationTokenSource();
        var first = Run(Options(part) with { Epochs = 2 }, cts.Token, p => { if (p.Step == 5) cts.Cancel(); });
        var rest = Run(Options(part) with { Epochs = 2, ResumeFrom = part });
        // Any magnitude or moment not restored exactly would bend the curve after step 5.
        Assert.That(first.Concat(rest), Is.EqualTo(baseline).Within(1e-12));

        // The run identity names the difference before any tensor is read.
        var e = Assert.Throws<TrainerOptionException>(() => Run(Options(part, dora: false) with { Epochs = 2, ResumeFrom = part }));
        Assert.That(e!.Message, Does.Contain("Lora.UseDora True in the checkpoint, False now"));
    }

}
