using Microsoft.ML.Runtime;
using MLNetLora.LibTorch;

namespace MLNetLora.ML;

/// <summary>
/// ML.NET's device convention, as Microsoft.ML.TorchSharp applies it: <c>MLContext.GpuDeviceId</c>
/// selects a GPU, <c>MLContext.FallbackToCpu</c> says whether the CPU may stand in when there is no
/// CUDA; an explicit device in the options wins over both.
/// </summary>
internal static class DeviceSelection
{
    /// <summary>The device to train or score on.</summary>
    /// <param name="env">The MLContext's environment.</param>
    /// <param name="requested">The options' device text, or null to follow the MLContext.</param>
    /// <param name="optionsName">The options type, for error messages.</param>
    /// <param name="warn">Receives the fallback warning.</param>
    /// <exception cref="ArgumentException">The device text is not a device.</exception>
    /// <exception cref="InvalidOperationException">A GPU was asked for, none is usable and FallbackToCpu is false.</exception>
    public static Device Resolve(IHostEnvironment env, string? requested, string optionsName, Action<string>? warn)
    {
        if (requested is not null)
        {
            Device parsed;
            try
            {
                parsed = Device.Parse(requested);
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                throw new ArgumentException($"{optionsName}.Device '{requested}' is not a device; use \"cpu\", \"cuda\" or \"cuda:N\", or null to follow MLContext.GpuDeviceId.", nameof(requested), e);
            }
            if (parsed.IsCuda && !CudaAvailable())
                throw new InvalidOperationException($"{optionsName}.Device is '{requested}' but CUDA is not available (no CUDA build of libtorch was loaded). " +
                    "Set Device = \"cpu\" (or null with MLContext.FallbackToCpu = true), or point MLNETLORA_LIBTORCH at the torch/lib folder of a CUDA PyTorch install.");
            return parsed;
        }
        var (gpu, fallback) = MLNetInternals.GpuSettings(env);
        if (gpu is not int id) return Device.Cpu;
        if (CudaAvailable()) return Device.Cuda(id);
        if (!fallback)
            throw new InvalidOperationException($"MLContext.GpuDeviceId is {id} but CUDA is not available (no CUDA build of libtorch was loaded) and MLContext.FallbackToCpu is false. " +
                "Set FallbackToCpu = true to train on the CPU, or point MLNETLORA_LIBTORCH at the torch/lib folder of a CUDA PyTorch install.");
        warn?.Invoke($"MLContext.GpuDeviceId is {id} but CUDA is not available; using the CPU (MLContext.FallbackToCpu is true).");
        return Device.Cpu;
    }

    private static bool CudaAvailable()
    {
        try
        {
            return Torch.CudaAvailable;
        }
        catch (LibTorchNotFoundException)
        {
            return false;
        }
    }
}
