using MLNetLora.LibTorch;

namespace MLNetLora.Models.Quantization;

/// <summary>
/// QLoRA's double quantization of the NF4 block scales (bitsandbytes <c>quantize_4bit(compress_statistics=True)</c>):
/// the mean is subtracted, then the centred values are quantized blockwise (256 per block) to 8-bit
/// codes of the signed dynamic map, each block with its own float32 absmax. Decodes as
/// <c>map[code]·absmax2 + offset</c>.
/// </summary>
public sealed class DoubleQuantizedAbsmax : IDisposable
{
    private DoubleQuantizedAbsmax(Tensor codes, Tensor absmax2, float offset, Tensor map, int blockSize)
    {
        Codes = codes;
        Absmax2 = absmax2;
        Offset = offset;
        Map = map;
        BlockSize = blockSize;
    }

    /// <summary>8-bit codes, one per NF4 block (blocks) uint8; owned by this object.</summary>
    public Tensor Codes { get; }

    /// <summary>Absmax of each group of <see cref="BlockSize"/> centred scales (groups) float32; owned by this object.</summary>
    public Tensor Absmax2 { get; }

    /// <summary>The mean of the scales, subtracted before quantizing (bitsandbytes' <c>offset</c>).</summary>
    public float Offset { get; }

    /// <summary>The 256-value dynamic map (256) float32 on the scales' device; owned by this object.</summary>
    public Tensor Map { get; }

    /// <summary>Scales per 8-bit block.</summary>
    public int BlockSize { get; }

    /// <summary>Bytes held: codes, per-group absmax, offset and map.</summary>
    public long StorageBytes => Codes.NumEl + 4 * Absmax2.NumEl + 4 + 4 * Map.NumEl;

    /// <summary>Quantizes NF4 block scales.</summary>
    /// <param name="absmax">The scales (blocks) float32.</param>
    /// <param name="blockSize">Scales per 8-bit block (bitsandbytes: 256).</param>
    /// <returns>The quantized scales; the caller disposes them.</returns>
    /// <exception cref="ArgumentException"><paramref name="absmax"/> is not a non-empty float32 vector.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="blockSize"/> is below 1.</exception>
    public static DoubleQuantizedAbsmax Quantize(Tensor absmax, int blockSize = Nf4.StatisticsBlockSize)
    {
        ArgumentNullException.ThrowIfNull(absmax);
        if (absmax.Rank != 1 || absmax.DType != DType.Float32 || absmax.NumEl == 0)
            throw new ArgumentException($"Expected a non-empty float32 vector of scales, got {absmax.Describe()}.", nameof(absmax));
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        var host = DynamicQuantizationMap.Create();
        var (strict, inclusive) = DynamicQuantizationMap.Boundaries(host);
        using var scope = TensorScope.Begin();
        var device = absmax.Device;
        long n = absmax.NumEl, groups = (n + blockSize - 1) / blockSize;
        // bitsandbytes takes a float32 mean on the device; a float64 mean rounded once to float32 gives
        // the same value (or one ulp off) without depending on the device's reduction order.
        float offset = (float)absmax.To(DType.Float64).Mean().ToDouble();
        using var off = Tensor.Scalar(offset, DType.Float32);
        var centred = absmax - off;                                                    // (blocks)
        var x = QuantOps.PadTo(centred, groups * blockSize).View(groups, blockSize);   // (groups, 256)
        var absmax2 = x.Abs().Amax([1]);                                               // (groups)
        var scaled = x * QuantOps.SafeReciprocal(absmax2).Unsqueeze(1);                // (groups, 256), as the kernel: x·(1/absmax)
        var strictB = QuantOps.ToDevice(strict, device);                               // (128)
        var inclusiveB = QuantOps.ToDevice(inclusive, device);                         // (127)
        var index = QuantOps.Bucketize(scaled, strictB, right: false)
                  + QuantOps.Bucketize(scaled, inclusiveB, right: true);                // (groups, 256) int64 in 0..255
        var codes = index.Reshape(-1).Narrow(0, 0, n).To(DType.UInt8);                // (blocks)
        var map = QuantOps.ToDevice(host, device);                                     // (256)
        return new DoubleQuantizedAbsmax(Own(scope, codes), Own(scope, absmax2), offset, Own(scope, map), blockSize);
    }

    /// <summary>Decodes the scales: <c>map[code]·absmax2 + offset</c> in float32, as bitsandbytes' dequantize_blockwise then <c>+= offset</c>.</summary>
    /// <returns>The scales (blocks) float32 on their device; the caller owns the tensor.</returns>
    public Tensor Dequantize()
    {
        using var scope = TensorScope.Begin();
        long n = Codes.NumEl, groups = Absmax2.NumEl;
        var values = Map.IndexSelect(0, Codes.To(DType.Int32));                         // (blocks)
        var grid = QuantOps.PadTo(values, groups * BlockSize).View(groups, BlockSize);  // (groups, 256)
        var scaled = (grid * Absmax2.Unsqueeze(1)).Reshape(-1).Narrow(0, 0, n);         // (blocks)
        using var off = Tensor.Scalar(Offset, DType.Float32);
        return scope.Keep(scaled + off);
    }

    /// <summary>Frees the codes, group scales and map.</summary>
    public void Dispose()
    {
        Codes.Dispose();
        Absmax2.Dispose();
        Map.Dispose();
    }

    private static Tensor Own(TensorScope scope, Tensor t) => scope.Keep(t).DetachFromScopes();
}
