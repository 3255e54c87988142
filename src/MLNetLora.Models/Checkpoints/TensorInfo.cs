using MLNetLora.LibTorch;

namespace MLNetLora.Models.Checkpoints;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">The tensor's name, e.g. <c>model.embed_tokens.weight</c>.</param>
/// <param name="DType">The stored element type.</param>
/// <param name="Shape">The size of each dimension (empty for a scalar).</param>
/// <param name="DataStart">Start of the tensor's bytes, relative to the start of the data section.</param>
/// <param name="DataEnd">End (exclusive) of the tensor's bytes, relative to the start of the data section.</param>
public sealed record TensorInfo(string Name, DType DType, long[] Shape, long DataStart, long DataEnd)
{
    /// <summary>Number of elements (1 for a scalar).</summary>
    public long ElementCount => ElementCountOf(Shape);

    /// <summary>Number of bytes the tensor occupies.</summary>
    public long ByteLength => DataEnd - DataStart;

    /// <summary>The safetensors code of <see cref="DType"/>, e.g. <c>BF16</c>.</summary>
    public string DTypeCode => SafeTensorsDTypes.ToCode(DType);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {DTypeCode} {FormatShape(Shape)}";

    /// <summary>A shape as <c>[a,b]</c>, the form used in error messages.</summary>
    public static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(",", shape) + "]";

    /// <summary>The product of the dimensions, or -1 when it overflows a long.</summary>
    internal static long ElementCountOf(IEnumerable<long> shape)
    {
        long n = 1;
        foreach (long d in shape)
        {
            if (d < 0) return -1;
            try
            {
                n = checked(n * d);
            }
            catch (OverflowException)
            {
                return -1;
            }
        }
        return n;
    }
}
