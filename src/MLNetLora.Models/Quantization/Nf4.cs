namespace MLNetLora.Models.Quantization;

/// <summary>
/// The 4-bit NormalFloat (NF4) data type of QLoRA (Dettmers et al., 2023): 16 levels in [-1, 1]
/// placed at quantiles of a standard normal, with an exact zero, as bitsandbytes hard-codes them.
/// </summary>
public static class Nf4
{
    /// <summary>Elements per absmax block, bitsandbytes' default for <c>quantize_4bit</c>.</summary>
    public const int DefaultBlockSize = 64;

    /// <summary>Absmax values per block of the second (8-bit) quantization, bitsandbytes' value for <c>compress_statistics=True</c>.</summary>
    public const int StatisticsBlockSize = 256;

    // Copied digit for digit from bitsandbytes (functional.py get_4bit_type("nf4") and dDequantizeNF4),
    // so codes written here decode to the same values there.
    private static readonly float[] LevelArray =
    [
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    ];

    // dQuantizeNF4's decision tree compares x against float literals that are the midpoints of
    // adjacent levels computed in double and rounded to float (e.g. 0.03979014977812767f); x goes
    // to the upper level only when strictly greater, so a value on a midpoint takes the lower level.
    private static readonly float[] ThresholdArray =
        Enumerable.Range(0, 15).Select(i => (float)(((double)LevelArray[i] + LevelArray[i + 1]) / 2)).ToArray();

    /// <summary>The 16 levels, index = 4-bit code.</summary>
    public static IReadOnlyList<float> Levels => LevelArray;

    /// <summary>The 15 decision thresholds: code i+1 is chosen over code i when <c>x &gt; Thresholds[i]</c>.</summary>
    public static IReadOnlyList<float> Thresholds => ThresholdArray;

    /// <summary>Half the widest gap between adjacent levels: the worst rounding error, in units of a block's absmax.</summary>
    public static double MaxRoundingError { get; } =
        Enumerable.Range(0, 15).Max(i => ((double)LevelArray[i + 1] - LevelArray[i]) / 2);

    internal static float[] LevelsCopy() => (float[])LevelArray.Clone();

    internal static float[] ThresholdsCopy() => (float[])ThresholdArray.Clone();
}
