using Microsoft.ML;
using MLNetLora.Cli.Commands;
using MLNetLora.ML;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Tests.Configuration;

public class TrainerOptionsTests
{
    [Test]
    public void Validate_NegativeRate_NamesTheProperty()
    {
        var e = Assert.Throws<TrainerOptionException>(() => new TrainerOptions { LearningRate = -0.001 }.Validate());
        Assert.That(e!.Property, Is.EqualTo("LearningRate"));
        Assert.That(e.ParamName, Is.EqualTo("LearningRate"));
        Assert.That(e.Message, Does.StartWith("LearningRate must be above 0 (got -0.001)"));
        Assert.That(e.Message, Does.Not.Contain("--"));
    }

    [TestCase("Lora.Rank")]
    [TestCase("BatchSize")]
    [TestCase("KeepCheckpoints")]
    [TestCase("Packing")]
    public void Validate_BadValue_NamesItsProperty(string property)
    {
        var o = new TrainerOptions();
        o = property switch
        {
            "Lora.Rank" => o with { Lora = o.Lora with { Rank = 0 } },
            "BatchSize" => o with { BatchSize = 0 },
            "KeepCheckpoints" => o with { KeepCheckpoints = 0 },
            _ => o with { Packing = true, Task = TrainingTask.Classification },
        };
        var e = Assert.Throws<TrainerOptionException>(() => o.Validate());
        Assert.That(e!.Property, Is.EqualTo(property));
        Assert.That(e.Message, Does.StartWith(property));
    }

    [Test]
    public void Defaults_AreTheDocumentedSet_InEveryFrontEnd()
    {
        var o = new TrainerOptions();
        Assert.That((o.Epochs, o.BatchSize, o.MaxLength, o.Lora.Rank, o.Lora.Alpha, o.Lora.Dropout, o.Seed),
            Is.EqualTo((3, 8, 512, 8, 16.0, 0.05, 42UL)));
        var ml = new LoraClassificationOptions { ModelPath = "m" }.ToTrainerOptions();
        Assert.That((ml.Epochs, ml.BatchSize, ml.MaxLength, ml.Lora.Rank, ml.Lora.Alpha, ml.Lora.Dropout, ml.Seed),
            Is.EqualTo((o.Epochs, o.BatchSize, o.MaxLength, o.Lora.Rank, o.Lora.Alpha, o.Lora.Dropout, o.Seed)));
        Assert.That(ml.Lora.TargetModules, Is.EqualTo(o.Lora.TargetModules));
    }

    [Test]
    public void ResolveSchedule_WsdWithoutDecaySteps_DecaysOverTheLastTenth()
    {
        var s = new TrainerOptions { Scheduler = ScheduleKind.WarmupStableDecay, LearningRate = 1e-3, WarmupSteps = 5 }.ResolveSchedule(101);
        Assert.That(s.DecaySteps, Is.EqualTo(11), "ceil(101 × 0.1)");
        Assert.That(s.StableSteps, Is.EqualTo(101 - 5 - 11));
        var curve = LearningRateSchedules.Create(s);
        Assert.That(curve.LearningRate(5 + 85 - 1), Is.EqualTo(1e-3), "last stable step");
        Assert.That(curve.LearningRate(5 + 85 + 1), Is.LessThan(1e-3), "decay has begun");
    }

    [Test]
    public void ResolveSchedule_CosineWithMinRateWithoutFloor_FloorsAtOneTenth()
    {
        var o = new TrainerOptions { Scheduler = ScheduleKind.CosineWithMinRate, LearningRate = 1e-3, WarmupSteps = 0 };
        var s = o.ResolveSchedule(100);
        Assert.That(s.MinRateRatio, Is.EqualTo(TrainingDefaults.MinRateRatio));
        Assert.That(LearningRateSchedules.Create(s).LearningRate(100), Is.EqualTo(1e-4).Within(1e-12));
        var given = (o with { ScheduleParameters = new ScheduleOptions { MinRateRatio = 0.5 } }).ResolveSchedule(100);
        Assert.That(given.MinRateRatio, Is.EqualTo(0.5), "a given floor wins");
    }

    [Test]
    public void ResolveSchedule_NullRate_UsesTheAdvisorsRate()
    {
        var o = new TrainerOptions { BatchSize = 16 };
        Assert.That(o.ResolveSchedule(10).LearningRate, Is.EqualTo(o.RecommendedRate()!.Rate));
        Assert.That(o.RecommendedRate()!.Rate, Is.EqualTo(2e-4), "16 sequences is the reference batch");
        Assert.That(new TrainerOptions { LearningRate = 1e-3 }.RecommendedRate(), Is.Null);
    }

    [Test]
    public void ResolveSchedule_DoesNotFit_NamesSchedulerAndWhatToAdjust()
    {
        var o = new TrainerOptions { Scheduler = ScheduleKind.Polynomial, LearningRate = 1e-3, WarmupSteps = 10 };
        var e = Assert.Throws<TrainerOptionException>(() => o.ResolveSchedule(10));
        Assert.That(e!.Property, Is.EqualTo("Scheduler"));
        Assert.That(e.Message, Does.StartWith("Scheduler polynomial does not fit this run of 10 steps"));
        Assert.That(CliOptionNames.Translate(e.Message), Does.StartWith("--scheduler polynomial").And.Contain("Adjust --warmup-steps or --warmup-ratio, --epochs or --max-steps"));
    }

    [Test]
    public void ResolveWatchdog_Classification_TurnsSpikeDetectionOffUnlessAsked()
    {
        Assert.That(new TrainerOptions { Task = TrainingTask.Classification }.ResolveWatchdog(1e-3).ZThreshold, Is.EqualTo(double.PositiveInfinity));
        Assert.That(new TrainerOptions { Task = TrainingTask.Classification, DetectLossSpikes = true }.ResolveWatchdog(1e-3).ZThreshold, Is.EqualTo(6.0));
        var causal = new TrainerOptions().ResolveWatchdog(1e-3);
        Assert.That((causal.ZThreshold, causal.LearningRate), Is.EqualTo((6.0, (double?)1e-3)));
    }

    [Test]
    public void Translate_PropertyNames_BecomeFlags()
    {
        Assert.That(CliOptionNames.Translate("LearningRate must be above 0 (got -1); Lora.Rank and MaxSteps too"),
            Is.EqualTo("--lr must be above 0 (got -1); --lora-r and --max-steps too"));
        Assert.That(CliOptionNames.Translate("LoRA default 2e-4 at path /x/Seed.txt"), Is.EqualTo("LoRA default 2e-4 at path /x/Seed.txt"));
    }

    [Test]
    public void EstimatorCreation_BadOption_ThrowsBeforeAnyModelIsRead()
    {
        var ml = new MLContext(seed: 1);
        var options = new LoraClassificationOptions { ModelPath = "/no/such/model", LearningRate = -1, LoraRank = 4 };
        var e = Assert.Throws<ArgumentException>(() => ml.Transforms.LoraTrainer(options));
        Assert.That(e!.Message, Does.StartWith("LoraClassificationOptions.LearningRate must be above 0"));
        options.LearningRate = null;
        options.LoraRank = 0;
        e = Assert.Throws<ArgumentException>(() => ml.Transforms.LoraTrainer(options));
        Assert.That(e!.Message, Does.StartWith("LoraClassificationOptions.LoraRank must be at least 1"));
        Assert.That(e.ParamName, Is.EqualTo("LoraRank"));
    }

    [Test]
    public void EstimatorCreation_ScheduleThatCannotFitMaxSteps_Throws()
    {
        var ml = new MLContext(seed: 1);
        var options = new LoraClassificationOptions { ModelPath = "/no/such/model", Scheduler = ScheduleKind.Polynomial, WarmupSteps = 5, MaxSteps = 5 };
        var e = Assert.Throws<ArgumentException>(() => ml.Transforms.LoraTrainer(options));
        Assert.That(e!.Message, Does.StartWith("LoraClassificationOptions.Scheduler polynomial does not fit"));
    }
}
