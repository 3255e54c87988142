using System.Globalization;

namespace MLNetLora.LibTorch;

/// <summary>Kinds of device the binding drives.</summary>
public enum DeviceType
{
    /// <summary>The host CPU.</summary>
    Cpu,
    /// <summary>An NVIDIA GPU (needs a CUDA build of libtorch).</summary>
    Cuda,
}

/// <summary>A device such as <c>cpu</c> or <c>cuda:0</c>.</summary>
/// <param name="Type">CPU or CUDA.</param>
/// <param name="Index">Device ordinal; -1 for the CPU.</param>
public readonly record struct Device(DeviceType Type, int Index)
{
    /// <summary>The CPU.</summary>
    public static Device Cpu { get; } = new(DeviceType.Cpu, -1);

    /// <summary>The CUDA device with the given ordinal.</summary>
    public static Device Cuda(int index = 0) => new(DeviceType.Cuda, index);

    /// <summary>Whether this is a CUDA device.</summary>
    public bool IsCuda => Type == DeviceType.Cuda;

    /// <summary>Parses <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    /// <exception cref="FormatException">The text is not a device name.</exception>
    public static Device Parse(string text)
    {
        string t = text.Trim().ToLowerInvariant();
        if (t == "cpu") return Cpu;
        if (t == "cuda" || t == "gpu") return Cuda(0);
        if (t.StartsWith("cuda:", StringComparison.Ordinal) &&
            int.TryParse(t.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int i))
            return Cuda(i);
        throw new FormatException($"'{text}' is not a device; use 'cpu', 'cuda' or 'cuda:N'.");
    }

    /// <inheritdoc/>
    public override string ToString() => Type == DeviceType.Cpu ? "cpu" : $"cuda:{Index}";
}
