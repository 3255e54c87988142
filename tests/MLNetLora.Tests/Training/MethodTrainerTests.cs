using MLNetLora.LibTorch;
using MLNetLora.Models.Transformer;
using MLNetLora.Tests.Models;
using MLNetLora.Training.Data;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Tests.Training;

/// <summary>Each method overfits one repeated batch; QLoRA quantizes the base it is given and estimates its memory from the NF4 storage.</summary>
public class MethodTrainerTests
{
    private static Batch RepeatedBatch() => Collator.Collate(Enumerable.Range(0, 4).Select(r =>
        new TrainingExample(Enumerable.Range(0, 12).Select(i => (3 * r + i) % 37).ToArray())).ToList(), 0, 16);

    private static TrainerOptions Options(FineTuneMethod method, bool dora = false) => new()
    {
        Method = method, LearningRate = method == FineTuneMethod.Full ? 3e-3 : 1e-2, Scheduler = ScheduleKind.Constant, WarmupSteps = 0,
        BatchSize = 4, MaxLength = 16, Seed = 3,
        Lora = method == FineTuneMethod.Full ? new() : new() { Rank = 4, Alpha = 8, Dropout = 0, UseDora = dora },
    };

    [TestCase(FineTuneMethod.Lora, false)]
    [TestCase(FineTuneMethod.Lora, true)]
    [TestCase(FineTuneMethod.QLora, false)]
    [TestCase(FineTuneMethod.QLora, true)]
    [TestCase(FineTuneMethod.Full, false)]
    public void Step_OneRepeatedBatch_LossBelow60PercentWithin30Steps(FineTuneMethod method, bool dora)
    {
        using var model = TinyModels.CreateBase(Architecture.Llama, seed: 3);
        using var trainer = new LoraTrainer(model, Options(method, dora));
        trainer.Prepare(30);
        var batch = RepeatedBatch();
        var losses = Enumerable.Range(0, 30).Select(_ => trainer.Step([batch]).Loss).ToList();
        Assert.That(losses[^1], Is.LessThan(0.6 * losses[0]), string.Join(", ", losses.Select(l => l.ToString("F3"))));
        Assert.That(model.IsQuantized, Is.EqualTo(method == FineTuneMethod.QLora));
    }

    [Test]
    public void Constructor_QLora_QuantizesTheBaseLogsItAndEstimatesNf4Memory()
    {
        var log = new List<string>();
        using var dense = TinyModels.CreateBase(Architecture.Llama, seed: 3);
        using var quantized = TinyModels.CreateBase(Architecture.Llama, seed: 3);
        using var lora = new LoraTrainer(dense, Options(FineTuneMethod.Lora));
        using var qlora = new LoraTrainer(quantized, Options(FineTuneMethod.QLora) with { Log = log.Add });
        Assert.That(log, Has.Some.StartsWith("QLoRA: base weights quantized to 4-bit NF4 with double-quantized scales").And.Some.Contains("bytes/weight"));
        var a = MemoryEstimate.For(dense, lora.Options);
        var b = MemoryEstimate.For(quantized, qlora.Options);
        Assert.That(b.WeightBytes, Is.LessThan(a.WeightBytes));
        Assert.That(b.GradientBytes, Is.EqualTo(a.GradientBytes), "the same adapters are trained");
    }

    [Test]
    public void Validate_DoraWithFull_NamesLoraUseDora()
    {
        var e = Assert.Throws<TrainerOptionException>(() => (Options(FineTuneMethod.Full) with { Lora = new() { UseDora = true } }).Validate())!;
        Assert.That(e.Property, Is.EqualTo("Lora.UseDora"));
    }
}
