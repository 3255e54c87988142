using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// <c>mlnetlora forward MODEL_DIR --input IN --output OUT [--adapter DIR] [--merge] [--device D] [--dtype T]</c>:
/// runs the model on the <c>input_ids</c> (and <c>attention_mask</c>) of a safetensors file and writes
/// the float32 <c>logits</c> [B, T, V] to another, for comparison with transformers.
/// </summary>
public sealed class ForwardCommand : ICliCommand
{
    /// <summary>Name of the tensor written to the output file.</summary>
    public const string LogitsName = "logits";

    /// <inheritdoc/>
    public string Name => "forward";

    /// <inheritdoc/>
    public string Summary => "Run the model on token ids from a safetensors file and write the logits";

    /// <inheritdoc/>
    public CommandSyntax Syntax { get; } = new(
        [ModelArguments.ModelDir],
        [
            new OptionSpec("input", "IN.safetensors", "File with input_ids (int64 [batch, tokens]) and optionally attention_mask", Required: true),
            new OptionSpec("output", "OUT.safetensors", "File to write logits (float32 [batch, tokens, vocab]) to", Required: true),
            new OptionSpec("adapter", "DIR", "PEFT LoRA adapter folder to apply"),
            new OptionSpec("merge", null, "Fold the adapter into the base weights before running (needs --adapter)"),
            ModelArguments.Device,
            ModelArguments.ComputeDType,
        ]);

    /// <inheritdoc/>
    public int Execute(ParsedArguments args, CliContext context)
    {
        string modelDir = ModelArguments.RequireModelFolder(args.Positional(ModelArguments.ModelDir.Name));
        string? adapterDir = args.Option("adapter") is string a ? ModelArguments.RequireAdapterFolder(a) : null;
        bool merge = args.Has("merge");
        if (merge && adapterDir is null)
            throw new UsageException("--merge folds an adapter into the model, so it needs --adapter DIR as well.");
        string output = Path.GetFullPath(args.Required("output"));
        if (Directory.Exists(output))
            throw new UsageException($"--output '{output}' is a folder; pass a file path such as '{Path.Combine(output, "logits.safetensors")}'.");
        var dtype = ModelArguments.ParseFloatDType(args.Option("dtype"), "dtype");
        var device = ModelArguments.ParseDevice(args.Option("device"));
        var config = ModelConfig.Load(modelDir);

        using var input = ForwardInput.Read(args.Required("input"), config.VocabSize, config.MaxPositionEmbeddings);
        using var model = PretrainedModel.Load(modelDir, device, dtype);
        if (adapterDir is not null) PeftAdapterIO.Load(model.Model, adapterDir);
        if (merge) model.Model.MergeAdapters();

        using var scope = TensorScope.Begin();
        var ids = input.Ids.To(device);
        var mask = input.Mask?.To(device);
        var logits = model.Model.ComputeLogits(ids, mask).To(DType.Float32, Device.Cpu);
        string? folder = Path.GetDirectoryName(output);
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        SafeTensorsWriter.Write(output, [new KeyValuePair<string, Tensor>(LogitsName, logits)], new Dictionary<string, string> { ["format"] = "pt" });
        context.Out.WriteLine($"wrote {LogitsName} {TensorInfo.FormatShape(logits.Shape)} float32 to {output}");
        return CliApp.SuccessExitCode;
    }
}
