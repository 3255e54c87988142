using MLNetLora.LibTorch;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// <c>mlnetlora merge MODEL_DIR --adapter DIR --output OUT_DIR [--dtype T]</c>: folds a PEFT LoRA adapter into
/// the base weights and writes a plain Hugging Face checkpoint that loads without PEFT.
/// </summary>
public sealed class MergeCommand : ICliCommand
{
    /// <inheritdoc/>
    public string Name => "merge";

    /// <inheritdoc/>
    public string Summary => "Fold a LoRA adapter into the base model and write a Hugging Face checkpoint";

    /// <inheritdoc/>
    public CommandSyntax Syntax { get; } = new(
        [ModelArguments.ModelDir],
        [
            new OptionSpec("adapter", "DIR", "PEFT LoRA adapter folder (adapter_config.json, adapter_model.safetensors)", Required: true),
            new OptionSpec("output", "OUT_DIR", "Folder for the merged checkpoint (created if needed)", Required: true),
            new OptionSpec("dtype", "DTYPE", "Stored dtype: float32, bfloat16 or float16 (default: the dtype in config.json, else float32)"),
        ]);

    /// <inheritdoc/>
    public int Execute(ParsedArguments args, CliContext context)
    {
        string modelDir = ModelArguments.RequireModelFolder(args.Positional(ModelArguments.ModelDir.Name));
        string adapterDir = ModelArguments.RequireAdapterFolder(args.Required("adapter"));
        string output = Path.GetFullPath(args.Required("output"));
        if (SameFolder(output, modelDir) || SameFolder(output, adapterDir))
            throw new UsageException($"--output '{output}' is the model or adapter folder; pass a new folder so the originals are kept.");
        if (File.Exists(output))
            throw new UsageException($"--output '{output}' is a file; pass a folder for the merged checkpoint.");
        var dtype = ModelArguments.ParseFloatDType(args.Option("dtype"), "dtype");
        OutputFolders.RequireWritable(output, "--output", "merge writes the merged checkpoint there");

        // Merging in float32 keeps the rounding to one step, at the final cast to the stored dtype.
        using var model = PretrainedModel.Load(modelDir, Device.Cpu, DType.Float32);
        var settings = PeftAdapterIO.Load(model.Model, adapterDir);
        int adapters = model.Model.Adapters.Count;
        model.SaveMerged(output, dtype);
        context.Out.WriteLine($"merged {adapters} LoRA adapters (rank {settings.Rank}) into {output}");
        return CliApp.SuccessExitCode;
    }

    private static bool SameFolder(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(a), Path.TrimEndingDirectorySeparator(b), StringComparison.Ordinal);
}
