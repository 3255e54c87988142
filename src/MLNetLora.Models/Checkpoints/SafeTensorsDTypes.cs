using MLNetLora.LibTorch;

namespace MLNetLora.Models.Checkpoints;

/// <summary>The dtype codes that safetensors headers use, and their <see cref="DType"/> equivalents.</summary>
public static class SafeTensorsDTypes
{
    private static readonly (string Code, DType DType)[] Table =
    [
        ("F32", DType.Float32),
        ("F16", DType.Float16),
        ("BF16", DType.BFloat16),
        ("F64", DType.Float64),
        ("I64", DType.Int64),
        ("I32", DType.Int32),
        ("I16", DType.Int16),
        ("I8", DType.Int8),
        ("U8", DType.UInt8),
        ("BOOL", DType.Bool),
    ];

    /// <summary>The codes this library reads and writes, e.g. <c>F32</c>, <c>BF16</c>.</summary>
    public static IReadOnlyList<string> SupportedCodes { get; } = Table.Select(e => e.Code).ToArray();

    /// <summary>The <see cref="DType"/> for a header code, or false when the code is not supported.</summary>
    public static bool TryParse(string code, out DType dtype)
    {
        foreach (var (c, d) in Table)
        {
            if (string.Equals(c, code, StringComparison.Ordinal))
            {
                dtype = d;
                return true;
            }
        }
        dtype = default;
        return false;
    }

    /// <summary>The header code for a <see cref="DType"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dtype"/> is not a defined value.</exception>
    public static string ToCode(DType dtype)
    {
        foreach (var (c, d) in Table)
            if (d == dtype) return c;
        throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "No safetensors code for this dtype.");
    }
}
