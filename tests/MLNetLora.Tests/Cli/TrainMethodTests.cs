using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Hub;
using static MLNetLora.Tests.Cli.CliFixture;
using static MLNetLora.Tests.Cli.TrainingTestData;

namespace MLNetLora.Tests.Cli;

/// <summary><c>train --method full|qlora</c> and <c>--dora</c>: what each writes, and the flags each refuses.</summary>
public class TrainMethodTests : TempDirFixture
{
    private string Output => Path.Combine(Dir, "out");

    private string[] Args(params string[] extra) => ["train", Llama, "--data", MobyDickSlice(Dir), "--output", Output, "--max-length", "32", "--max-steps", "2", .. extra];

    [Test]
    public void Train_MethodFull_WritesAHuggingFaceModelFolderAndSaysWhatItTrains()
    {
        var r = CliRun.Run(Args("--method", "full", "--freeze-layers", "1"));
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Does.Match(@"full fine-tuning of \d+ tensors, [\d.]+M of [\d.]+M parameters \(layers 0-0 frozen\)"));
        Assert.That(r.Error, Does.Contain("learning rate").And.Contain("full fine-tuning moves every weight"), "the default rate and why");
        Assert.That(r.Error, Does.Contain("memory estimate: weights"));
        string model = Path.Combine(Output, "model");
        Assert.That(File.Exists(Path.Combine(model, ModelCheckpoint.SingleFileName)) && File.Exists(Path.Combine(model, "config.json")), Is.True);
        Assert.That(Directory.Exists(Path.Combine(Output, "adapter")), Is.False);
        using var reloaded = PretrainedModel.Load(model);
        Assert.That(reloaded.Model.Adapters, Is.Empty);
    }

    [Test]
    public void Train_MethodQLoraWithDora_WritesADoraAdapterAndLogsTheQuantization()
    {
        var r = CliRun.Run(Args("--method", "qlora", "--dora", "--lr", "1e-2"));
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Error, Does.Contain("QLoRA: base weights quantized to 4-bit NF4"));
        Assert.That(r.Out, Does.Contain("DoRA"));
        Assert.That(File.ReadAllText(Path.Combine(Output, "adapter", "adapter_config.json")), Does.Contain("\"use_dora\": true"));
    }

    [TestCase("--lora-r", "4", "--lora-r shapes LoRA adapters, which --method full does not train")]
    [TestCase("--dora", null, "--dora shapes LoRA adapters")]
    public void Train_LoraFlagWithMethodFull_IsAUsageError(string flag, string? value, string message)
    {
        var r = CliRun.Run(value is null ? Args("--method", "full", flag) : Args("--method", "full", flag, value));
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Error, Does.Contain(message));
    }

    [Test]
    public void Train_FreezeLayersWithLora_NamesTheFlags()
    {
        var r = CliRun.Run(Args("--freeze-layers", "1"));
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Error, Does.Contain("--freeze-layers chooses what full fine-tuning leaves frozen, but --method is Lora"));
    }

    [Test]
    public void Train_MethodFullBf16_IsRefusedBeforeLoading()
    {
        var r = CliRun.Run(Args("--method", "full", "--precision", "bf16"));
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Error, Does.Contain("--precision BFloat16 cannot hold full fine-tuning's updates"));
    }
}
