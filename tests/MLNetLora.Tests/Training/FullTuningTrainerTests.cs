using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Transformer;
using MLNetLora.Tests.Models;
using MLNetLora.Training.Data;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Tests.Training;

/// <summary>Method = Full through the trainer: rate default, optimizer groups, memory estimate, checkpoints and the saved model.</summary>
public class FullTuningTrainerTests
{

    private static TrainerOptions Full(string? output = null) => new()
    {
        Method = FineTuneMethod.Full, LearningRate = 3e-3, Scheduler = ScheduleKind.Constant, WarmupSteps = 0, BatchSize = 4, MaxLength = 16,
        OutputDirectory = output, Seed = 3,
    };

    [Test]
    public void Step_LlamaFixture_FirstLossEqualsLoraForward()
    {
        var rows = TrainingRows.Counting(4, 12, 2, vocab: 2048);
        var batch = Collator.Collate(rows, 2, 16);
        double FirstLoss(TrainerOptions o)
        {
            using var pretrained = PretrainedModel.Load(TestPaths.Fixture("llama"), dtype: DType.Float64);
            using var trainer = new LoraTrainer(pretrained, o);
            trainer.Prepare(5);
            return trainer.Step([batch]).Loss;
        }
        double full = FirstLoss(Full());
        double lora = FirstLoss(Full() with { Method = FineTuneMethod.Lora, Lora = new() { Dropout = 0 } });
        // LoRA starts with B = 0, so its forward is the base model's: the same loss to rounding.
        Assert.That(full, Is.EqualTo(lora).Within(1e-12));
        Assert.That(full, Is.GreaterThan(5), "random weights over a 2048-token vocabulary start near ln 2048 = 7.6");
    }

    [Test]
    public void Step_OneRepeatedBatch_OverfitsWithin30Steps()
    {
        using var model = TinyModels.CreateBase(Architecture.Llama, seed: 3);
        using var trainer = new LoraTrainer(model, Full());
        trainer.Prepare(30);
        var batch = Collator.Collate(TrainingRows.Counting(4, 12, 7), 0, 16);
        var losses = Enumerable.Range(0, 30).Select(_ => trainer.Step([batch]).Loss).ToList();
        Assert.That(losses[^1], Is.LessThan(0.6 * losses[0]), string.Join(", ", losses.Select(l => l.ToString("F3"))));
    }

    [Test]
    public void Optimizer_FullTuning_DecaysMatricesOnly_AndSkipsTheHeadForClassification()
    {
        using var model = TinyModels.CreateBase(Architecture.Qwen2);
        using var trainer = new LoraTrainer(model, Full() with { WeightDecay = 0.1, Task = TrainingTask.Classification }, classCount: 3);
        trainer.Prepare(5);
        var groups = trainer.Optimizer.Groups.ToDictionary(g => g.Name);
        Assert.That(groups.Keys, Is.EquivalentTo(new[] { "weights", "no_decay", "score" }));
        Assert.That(groups["weights"].WeightDecay, Is.EqualTo(0.1));
        Assert.That(groups["no_decay"].WeightDecay, Is.Zero);
        int biases = model.TrainableWeights.Count(w => w.Kind == WeightKind.Bias), norms = model.TrainableWeights.Count(w => w.Kind == WeightKind.Norm);
        Assert.That(groups["no_decay"].Parameters, Has.Count.EqualTo(biases + norms));
        // Qwen2 ties the head to the embeddings, which a classifier still uses as its input table.
        Assert.That(groups["weights"].Parameters, Has.Some.SameAs(model.Embedding));
        Assert.That(model.Adapters, Is.Empty);
    }

    [Test]
    public void Prepare_NoRate_ChoosesTheFullFineTuningDefaultAndLogsMemory()
    {
        var log = new List<string>();
        using var model = TinyModels.CreateBase(Architecture.Llama);
        using var trainer = new LoraTrainer(model, Full() with { LearningRate = null, Log = log.Add });
        trainer.Prepare(10);
        // 1e-5 for full fine-tuning, times √(4/16) for a batch of 4 against the reference 16.
        Assert.That(trainer.Schedule.Options.LearningRate, Is.EqualTo(TrainingDefaults.LearningRate(FineTuneMethod.Full) * 0.5).Within(1e-12));
        Assert.That(log, Has.Some.StartsWith("no LearningRate given, so learning rate 5e-6: full fine-tuning default 1e-5"));
        Assert.That(log, Has.Some.StartsWith("memory estimate: weights").And.Some.Contains("optimizer"));
    }

    [Test]
    public void MemoryEstimate_FullTuning_CountsGradientsAndTwoMoments_AndRefusesWhatCannotFit()
    {
        using var model = TinyModels.CreateBase(Architecture.Llama);
        using var trainer = new LoraTrainer(model, Full());
        var m = MemoryEstimate.For(model, trainer.Options);
        long weightBytes = model.NamedWeights().Sum(kv => kv.Value.NumEl) * 8;
        Assert.That(m.WeightBytes, Is.EqualTo(weightBytes));
        Assert.That(m.GradientBytes, Is.EqualTo(weightBytes), "every weight is trained, the tied-free table once");
        Assert.That(m.OptimizerBytes, Is.EqualTo(2 * weightBytes));
        Assert.That(m.ActivationBytes, Is.GreaterThan(0));
        var e = Assert.Throws<TrainerOptionException>(() => m.ThrowIfTooLarge(m.GradientBytes, FineTuneMethod.Full))!;
        Assert.That(e.Property, Is.EqualTo("Method"));
        Assert.That(e.Message, Does.Contain("Method = Lora").And.Contain("FreezeLayers"));
        Assert.DoesNotThrow(() => m.ThrowIfTooLarge(m.AdditionalBytes, FineTuneMethod.Full));
        Assert.DoesNotThrow(() => m.ThrowIfTooLarge(null, FineTuneMethod.Full));
        var checkpointed = MemoryEstimate.For(model, trainer.Options with { GradientCheckpointing = true });
        Assert.That(checkpointed.ActivationBytes, Is.LessThan(m.ActivationBytes));
    }

    [Test]
    public void Constructor_Bfloat16Model_RefusesFullTuningByProperty()
    {
        using var pretrained = PretrainedModel.Load(TestPaths.Fixture("llama"), dtype: DType.BFloat16);
        var e = Assert.Throws<TrainerOptionException>(() => new LoraTrainer(pretrained, Full()))!;
        Assert.That(e.Property, Is.EqualTo("Method"));
        Assert.That(e.Message, Does.Contain("float32"));
    }

    [Test]
    public void Validate_FreezeLayersWithLora_NamesTheProperty()
    {
        var e = Assert.Throws<TrainerOptionException>(() => (Full() with { Method = FineTuneMethod.Lora, FreezeLayers = 2 }).Validate())!;
        Assert.That(e.Property, Is.EqualTo("FreezeLayers"));
        using var model = TinyModels.CreateBase(Architecture.Llama);
        e = Assert.Throws<TrainerOptionException>(() => new LoraTrainer(model, Full() with { FreezeLayers = 3 }))!;
        Assert.That(e.Message, Does.Contain("has 2 layers"));
    }

    [Test]
    public void Train_FullTuning_SavesAHuggingFaceCheckpointThatReloadsToTheSameLogits()
    {
        string dir = TestPaths.NewTempDir();
        using var pretrained = PretrainedModel.Load(TestPaths.Fixture("llama"));
        using (var trainer = new LoraTrainer(pretrained, Full(dir) with { MaxSteps = 3, LearningRate = 1e-3 }))
            trainer.Train(TrainingRows.Counting(8, 12, 5, vocab: 2048));
        string saved = Path.Combine(dir, RunFolder.ModelFolder);
        Assert.That(File.Exists(Path.Combine(saved, "config.json")) && File.Exists(Path.Combine(saved, "tokenizer.json")), Is.True);
        using var ids = Tensor.FromArray(new long[] { 5, 9, 100, 7, 3, 1500 }, 1, 6);
        using var reloaded = PretrainedModel.Load(saved);
        using var trained = pretrained.Model.ComputeLogits(ids);
        using var again = reloaded.Model.ComputeLogits(ids);
        using var diff = (trained - again).Abs().Max();
        Assert.That(diff.Item<float>(), Is.LessThan(1e-6));
        using var original = PretrainedModel.Load(TestPaths.Fixture("llama"));
        using var before = original.Model.ComputeLogits(ids);
        using var moved = (before - again).Abs().Max();
        Assert.That(moved.Item<float>(), Is.GreaterThan(1e-3), "three steps at 1e-3 changed the model");
    }

    [Test]
    public void SaveMerged_SmallShardLimit_WritesShardsAndAnIndexThatLoad()
    {
        string dir = TestPaths.NewTempDir();
        using var pretrained = PretrainedModel.Load(TestPaths.Fixture("llama"));
        pretrained.SaveMerged(dir, DType.Float32, maxShardBytes: 300_000);
        var shards = Directory.GetFiles(dir, "model-*-of-*.safetensors");
        Assert.That(shards.Length, Is.GreaterThan(1));
        Assert.That(File.Exists(Path.Combine(dir, ModelCheckpoint.IndexFileName)) && !File.Exists(Path.Combine(dir, ModelCheckpoint.SingleFileName)), Is.True);
        using var ids = Tensor.FromArray(new long[] { 5, 9, 100, 7 }, 1, 4);
        using var reloaded = PretrainedModel.Load(dir);
        using var a = pretrained.Model.ComputeLogits(ids);
        using var b = reloaded.Model.ComputeLogits(ids);
        using var diff = (a - b).Abs().Max();
        Assert.That(diff.Item<float>(), Is.Zero);
        // Saving again as one file removes the shards and the index, so the folder holds one checkpoint.
        pretrained.SaveMerged(dir, DType.Float32);
        Assert.That(Directory.GetFiles(dir, "model-*-of-*.safetensors"), Is.Empty);
        Assert.That(File.Exists(Path.Combine(dir, ModelCheckpoint.IndexFileName)), Is.False);
    }

    [Test]
    public void Resume_FullTuningCheckpoint_ContinuesTheSameLosses()
    {
        var data = TrainingRows.Counting(16, 12, 4);
        string whole = TestPaths.NewTempDir(), part = TestPaths.NewTempDir();
        List<double> Run(TrainerOptions o, Func<TrainingProgress, bool>? cancelAt = null)
        {
            var losses = new List<double>();
            using var cts = new CancellationTokenSource();
            using var model = TinyModels.CreateBase(Architecture.Qwen2, seed: 9);
            using var trainer = new LoraTrainer(model, o);
            trainer.Train(data, null, new SyncProgress<TrainingProgress>(p => { losses.Add(p.Loss); if (cancelAt?.Invoke(p) == true) cts.Cancel(); }), cts.Token);
            return losses;
        }
        var baseline = Run(Full(whole) with { Epochs = 2 });
        var first = Run(Full(part) with { Epochs = 2 }, p => p.Step == 3);
        Assert.That(Directory.Exists(Path.Combine(part, "checkpoint-3")) && File.Exists(Path.Combine(part, "checkpoint-3", "model.safetensors")), Is.True);
        Assert.That(TrainingCheckpoint.Problem(Path.Combine(part, "checkpoint-3")), Is.Null);
        var rest = Run(Full(part) with { Epochs = 2, ResumeFrom = part });
        Assert.That(first.Concat(rest), Is.EqualTo(baseline).Within(1e-12));
        var wrong = Assert.Throws<TrainerOptionException>(() => Run(Full(part) with { Method = FineTuneMethod.Lora, Epochs = 2, ResumeFrom = part }));
        Assert.That(wrong!.Message, Does.Contain("Method Full in the checkpoint, Lora now"));
    }
}
