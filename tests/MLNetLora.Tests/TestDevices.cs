using MLNetLora.LibTorch;

namespace MLNetLora.Tests;

/// <summary>
/// Devices the op tests run on: always the CPU, plus CUDA when the loaded libtorch has it (set
/// MLNETLORA_LIBTORCH to a CUDA PyTorch's torch/lib on a GPU machine to run them there too).
/// </summary>
public static class TestDevices
{
    /// <summary>Device names for <c>[TestFixtureSource]</c>.</summary>
    public static IEnumerable<string> Available()
    {
        yield return "cpu";
        if (Torch.CudaAvailable) yield return "cuda:0";
    }
}

/// <summary>Base for fixtures that run once per available device.</summary>
public abstract class DeviceFixture(string device)
{
    /// <summary>The fixture's device.</summary>
    protected Device Dev { get; } = Device.Parse(device);

    /// <summary>Moves a CPU tensor to the fixture's device (freeing the CPU copy when it moves).</summary>
    protected Tensor On(Tensor cpu)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        if (!Dev.IsCuda) return cpu;
        using (cpu) return cpu.To(Dev);
    }
}
