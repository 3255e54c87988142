using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Lora;

namespace MLNetLora.Cli.Commands;

/// <summary>The arguments several commands share (model folder, adapter, device, dtype), with their checks.</summary>
public static class ModelArguments
{
    private const string LibTorchVariable = "MLNETLORA_LIBTORCH";

    /// <summary>The model folder positional.</summary>
    public static PositionalSpec ModelDir { get; } =
        new("MODEL_DIR", "Hugging Face model folder (config.json, model.safetensors or shards, tokenizer files)");

    /// <summary>The <c>--device</c> option.</summary>
    public static OptionSpec Device { get; } = new("device", "DEVICE", "cpu (default), cuda or cuda:N");

    /// <summary>The <c>--dtype</c> option for compute.</summary>
    public static OptionSpec ComputeDType { get; } =
        new("dtype", "DTYPE", "Compute dtype: float32, bfloat16 or float16 (default: float32 on CPU, bfloat16 on CUDA)");

    /// <summary>The model folder, checked to exist and hold a config.json.</summary>
    /// <exception cref="UsageException">The folder or its config.json is missing.</exception>
    public static string RequireModelFolder(string path)
    {
        string full = RequireExistingModelFolder(path);
        if (!File.Exists(Path.Combine(full, ModelConfig.FileName)))
            throw new UsageException(
                $"'{full}' has no {ModelConfig.FileName}, so it is not a Hugging Face model folder. Pass the folder that holds config.json and the safetensors weights.");
        return full;
    }

    /// <summary>The model folder, checked only to exist (for commands that need just the tokenizer files).</summary>
    /// <exception cref="UsageException">The folder is missing.</exception>
    public static string RequireExistingModelFolder(string path)
    {
        string full = Path.GetFullPath(path);
        if (File.Exists(full))
            throw new UsageException(
                $"'{full}' is a file, but a model folder is expected. Pass the folder that holds it{(Path.GetDirectoryName(full) is string parent ? $" ('{parent}')" : "")}.");
        if (!Directory.Exists(full))
            throw new UsageException(
                $"Model folder '{full}' does not exist. Pass the folder of a Hugging Face model (config.json, model.safetensors, tokenizer.json), or fix the path.");
        return full;
    }

    /// <summary>A PEFT adapter folder, checked to exist and hold adapter_config.json.</summary>
    /// <exception cref="UsageException">The folder or its config is missing.</exception>
    public static string RequireAdapterFolder(string path)
    {
        string full = Path.GetFullPath(path);
        if (File.Exists(full))
            throw new UsageException($"'{full}' is a file, but an adapter folder is expected. Pass the folder that holds {PeftAdapterIO.ConfigFileName} and {PeftAdapterIO.WeightsFileName}.");
        if (!Directory.Exists(full))
            throw new UsageException($"Adapter folder '{full}' does not exist. Pass a PEFT adapter folder ({PeftAdapterIO.ConfigFileName} and {PeftAdapterIO.WeightsFileName}), or fix the path.");
        if (!File.Exists(Path.Combine(full, PeftAdapterIO.ConfigFileName)))
            throw new UsageException($"'{full}' has no {PeftAdapterIO.ConfigFileName}, so it is not a PEFT adapter folder. Pass the folder that holds {PeftAdapterIO.ConfigFileName} and {PeftAdapterIO.WeightsFileName}.");
        return full;
    }

    /// <summary>Parses <c>--device</c>; CPU when absent. CUDA is refused up front when the loaded libtorch has no CUDA kernels.</summary>
    /// <exception cref="UsageException">The text is not a device, or CUDA is not available.</exception>
    public static Device ParseDevice(string? text)
    {
        if (text is null) return LibTorch.Device.Cpu;
        LibTorch.Device device;
        try
        {
            device = LibTorch.Device.Parse(text);
        }
        catch (FormatException e)
        {
            throw new UsageException($"--device {text}: {e.Message}", e);
        }
        if (device.IsCuda && !Torch.CudaAvailable)
            throw new UsageException(
                $"--device {text} needs CUDA, but the libtorch loaded from '{Torch.Info.Directory}' has no usable CUDA (libtorch_cuda: {Torch.Info.CudaStatus}). " +
                $"Set {LibTorchVariable} to the torch/lib folder of a CUDA PyTorch 2.10 or newer, or use --device cpu.");
        return device;
    }

    /// <summary>Parses a dtype name; null when absent.</summary>
    /// <exception cref="UsageException">The name is not a floating-point dtype the models support.</exception>
    public static DType? ParseFloatDType(string? text, string option) => text?.ToLowerInvariant() switch
    {
        null => null,
        "float32" or "fp32" or "float" => DType.Float32,
        "bfloat16" or "bf16" => DType.BFloat16,
        "float16" or "fp16" or "half" => DType.Float16,
        _ => throw new UsageException($"--{option} {text} is not a supported dtype; use float32, bfloat16 or float16."),
    };
}
