using MLNetLora.LibTorch;

namespace MLNetLora.Models.Quantization;

/// <summary>
/// A weight stored as 4-bit NF4 codes with one absmax per block, laid out as bitsandbytes'
/// <c>quantize_4bit(quant_type="nf4")</c>: the weight flattened in row-major order, blocks of
/// <see cref="BlockSize"/> elements (a partial last block padded with zeros), two codes per byte with
/// the first element in the high nibble, and <c>ceil(n/2)</c> bytes. With double quantization the
/// absmax values are themselves stored in 8 bits (<see cref="DoubleQuantizedAbsmax"/>).
/// Quantizing and decoding run as ATen ops on the weight's device.
/// </summary>
public sealed class Nf4Tensor : IDisposable
{
    private readonly Tensor levels;       // (16) float32 on Device: the NF4 table the codes index
    private bool disposed;

    private Nf4Tensor(long[] shape, DType dtype, int blockSize, Tensor codes, Tensor? absmax, DoubleQuantizedAbsmax? nested, Tensor levels)
    {
        Shape = shape;
        OriginalDType = dtype;
        BlockSize = blockSize;
        Codes = codes;
        Absmax = absmax;
        NestedAbsmax = nested;
        this.levels = levels;
    }

    /// <summary>Shape of the original weight.</summary>
    public long[] Shape { get; }

    /// <summary>Number of weights (the product of <see cref="Shape"/>).</summary>
    public long NumEl => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Element type of the weight that was quantized; <see cref="Dequantize()"/> returns it by default.</summary>
    public DType OriginalDType { get; }

    /// <summary>Weights per absmax block.</summary>
    public int BlockSize { get; }

    /// <summary>Number of absmax blocks, <c>ceil(NumEl / BlockSize)</c>.</summary>
    public long Blocks => (NumEl + BlockSize - 1) / BlockSize;

    /// <summary>Device of every stored tensor.</summary>
    public Device Device => Codes.Device;

    /// <summary>Packed codes (ceil(n/2)) uint8, element 2i in the high nibble of byte i; owned by this object.</summary>
    public Tensor Codes { get; }

    /// <summary>Per-block absmax (blocks) float32, or null with double quantization; owned by this object.</summary>
    public Tensor? Absmax { get; }

    /// <summary>The 8-bit absmax values when double-quantized, else null; owned by this object.</summary>
    public DoubleQuantizedAbsmax? NestedAbsmax { get; }

    /// <summary>Whether the absmax values are double-quantized.</summary>
    public bool IsDoubleQuantized => NestedAbsmax is not null;

    /// <summary>Bytes held on the device: packed codes, block scales (float32, or 8-bit plus their own scales, offset and map) and the 16-level table.</summary>
    public long StorageBytes => Codes.NumEl + (NestedAbsmax?.StorageBytes ?? 4 * Absmax!.NumEl) + 4 * levels.NumEl;

    /// <summary>
    /// The part of <see cref="StorageBytes"/> that does not grow with the weight: the 16-level table and,
    /// with double quantization, the 256-value map (1 KiB). Each tensor holds its own copy (bitsandbytes
    /// shares one in memory), which matters only for tiny layers.
    /// </summary>
    public long TableBytes => 4 * levels.NumEl + (NestedAbsmax is null ? 0 : 4 * NestedAbsmax.Map.NumEl);

    /// <summary><see cref="StorageBytes"/> per weight (bfloat16 takes 2).</summary>
    public double BytesPerWeight => (double)StorageBytes / NumEl;

    /// <summary>Quantizes a weight to NF4.</summary>
    /// <param name="weight">Any shape, any floating dtype (converted to float32 first, as bitsandbytes' kernels do), any device.</param>
    /// <param name="blockSize">Weights per absmax block (bitsandbytes: 64; must be even so codes pair into bytes).</param>
    /// <param name="doubleQuant">Also quantize the absmax values to 8 bits in groups of 256 (QLoRA's double quantization).</param>
    /// <returns>The quantized weight on <paramref name="weight"/>'s device; the caller disposes it. The input is left as it was.</returns>
    /// <exception cref="ArgumentException"><paramref name="weight"/> is empty or not floating point.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="blockSize"/> is below 2 or odd.</exception>
    public static Nf4Tensor Quantize(Tensor weight, int blockSize = Nf4.DefaultBlockSize, bool doubleQuant = false)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (!weight.DType.IsFloatingPoint())
            throw new ArgumentException($"NF4 quantizes floating-point weights; got {weight.Describe()}.", nameof(weight));
        if (weight.NumEl == 0) throw new ArgumentException("Cannot quantize an empty tensor.", nameof(weight));
        if (blockSize < 2 || blockSize % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "The block size must be even and at least 2 (two 4-bit codes per byte); bitsandbytes uses 64.");
        using var scope = TensorScope.Begin();
        var device = weight.Device;
        long n = weight.NumEl, blocks = (n + blockSize - 1) / blockSize;
        var flat = weight.Reshape(-1);                                                   // (n)
        if (flat.DType != DType.Float32) flat = flat.To(DType.Float32);
        var x = QuantOps.PadTo(flat, blocks * blockSize).View(blocks, blockSize);       // (blocks, bs)
        var absmax = x.Abs().Amax([1]);                                                  // (blocks) float32
        // The kernel multiplies by the reciprocal rather than dividing; that decides which side of a
        // threshold a value just next to it lands on, so it is done the same way here.
        var scaled = x * QuantOps.SafeReciprocal(absmax).Unsqueeze(1);                   // (blocks, bs) in [-1, 1]
        var thresholds = QuantOps.ToDevice(Nf4.ThresholdsCopy(), device);                // (15)
        var index = QuantOps.Bucketize(scaled, thresholds, right: false).To(DType.UInt8); // (blocks, bs) codes 0..15
        var pairs = index.View(-1, 2);                                                   // (blocks·bs/2, 2)
        var packed = QuantOps.BitOr(QuantOps.ShiftLeft(pairs.Narrow(1, 0, 1), 4), pairs.Narrow(1, 1, 1)); // (blocks·bs/2, 1)
        // Only ceil(n/2) bytes are kept, as bitsandbytes stores; the padding is not memory the caller pays for.
        var codes = packed.Reshape(-1).Narrow(0, 0, (n + 1) / 2).Clone();               // (ceil(n/2)) uint8
        var table = QuantOps.ToDevice(Nf4.LevelsCopy(), device);                         // (16)
        DoubleQuantizedAbsmax? nested = doubleQuant ? DoubleQuantizedAbsmax.Quantize(absmax) : null;
        return new Nf4Tensor(weight.Shape, weight.DType, blockSize, Own(scope, codes), nested is null ? Own(scope, absmax) : null, nested, Own(scope, table));
    }

    /// <summary>The per-block absmax values, decoded from 8 bits when double-quantized.</summary>
    /// <returns>(blocks) float32 on <see cref="Device"/>; the caller owns the tensor.</returns>
    /// <exception cref="ObjectDisposedException">This tensor was disposed.</exception>
    public Tensor BlockAbsmax()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return NestedAbsmax?.Dequantize() ?? Absmax!.Alias();
    }

    /// <summary>The code (0..15) of every weight, unpacked, in row-major order.</summary>
    /// <returns>(n) uint8 on <see cref="Device"/>; the caller owns the tensor.</returns>
    /// <exception cref="ObjectDisposedException">This tensor was disposed.</exception>
    public Tensor Indices()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        using var scope = TensorScope.Begin();
        return scope.Keep(Unpack().Narrow(0, 0, NumEl).Contiguous());                    // (n)
    }

    /// <summary>Decodes to a dense weight in <see cref="OriginalDType"/>.</summary>
    /// <returns>The weight (shape) on <see cref="Device"/>; the caller owns the tensor.</returns>
    /// <exception cref="ObjectDisposedException">This tensor was disposed.</exception>
    public Tensor Dequantize() => Dequantize(OriginalDType);

    /// <summary>
    /// Decodes to a dense weight: <c>level[code]·absmax</c> computed in float32 and rounded once to
    /// <paramref name="dtype"/>, as bitsandbytes' dequantize kernel.
    /// </summary>
    /// <param name="dtype">Floating dtype of the result (the compute dtype).</param>
    /// <returns>The weight (shape) on <see cref="Device"/>; the caller owns the tensor.</returns>
    /// <exception cref="ArgumentException"><paramref name="dtype"/> is not floating point.</exception>
    /// <exception cref="ObjectDisposedException">This tensor was disposed.</exception>
    public Tensor Dequantize(DType dtype)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"Dequantize to a floating dtype, not {dtype}.", nameof(dtype));
        using var scope = TensorScope.Begin();
        long n = NumEl, blocks = Blocks;
        var index = Unpack().To(DType.Int32);                                            // (2·bytes) = n or n+1
        var values = levels.IndexSelect(0, index);                                       // (2·bytes) float32
        var grid = QuantOps.PadTo(values, blocks * BlockSize).View(blocks, BlockSize);   // (blocks, bs)
        var absmax = BlockAbsmax();                                                      // (blocks) float32
        var w = (grid * absmax.Unsqueeze(1)).Reshape(-1).Narrow(0, 0, n).Reshape(Shape); // (shape) float32
        var result = dtype == DType.Float32 ? w.Contiguous() : w.To(dtype);             // (shape) dtype
        return scope.Keep(result);
    }

    /// <summary>Whether every block scale is finite (a NaN or infinity in the weight makes its block's absmax non-finite).</summary>
    /// <returns>True when all scales are finite.</returns>
    /// <exception cref="ObjectDisposedException">This tensor was disposed.</exception>
    public bool ScalesAreFinite()
    {
        using var scope = TensorScope.Begin();
        return BlockAbsmax().IsFinite().All().Item<bool>();
    }

    /// <summary>Frees the codes, scales and table.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        Codes.Dispose();
        Absmax?.Dispose();
        NestedAbsmax?.Dispose();
        levels.Dispose();
    }

    // Both 4-bit codes of every byte, the high nibble (the earlier element) first: (2·bytes) uint8. Call inside a scope.
    private Tensor Unpack()
    {
        var hi = QuantOps.ShiftRight(Codes, 4);                                          // (bytes) first element of each pair
        var lo = QuantOps.BitAnd(Codes, 0x0F);                                           // (bytes) second element
        return Tensor.Stack([hi, lo], 1).Reshape(-1);                                    // (2·bytes)
    }

    private static Tensor Own(TensorScope scope, Tensor t) => scope.Keep(t).DetachFromScopes();
}
