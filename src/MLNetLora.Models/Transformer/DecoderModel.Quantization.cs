using MLNetLora.LibTorch;
using MLNetLora.Models.Quantization;

namespace MLNetLora.Models.Transformer;

public sealed partial class DecoderModel
{
    /// <summary>Whether any decoder-layer linear holds its base weight in 4-bit NF4.</summary>
    public bool IsQuantized => Linears.Any(l => l.QuantizedWeight is not null);

    /// <summary>
    /// QLoRA's base-model storage: stores every decoder-layer linear (q, k, v, o, gate, up, down, or the
    /// fused qkv / gate_up) as NF4, as bitsandbytes' <c>load_in_4bit</c> does; the embeddings, norms,
    /// LM head and a classification head stay in the compute dtype. Adapters are untouched and may be
    /// added before or after. Each forward and backward then decodes one weight at a time to the compute
    /// dtype. Layers already quantized are left as they are.
    /// </summary>
    /// <param name="doubleQuant">Quantize the block scales to 8 bits too (bnb_4bit_use_double_quant), saving about 0.37 bits per weight.</param>
    /// <param name="blockSize">Weights per absmax block (bitsandbytes: 64).</param>
    /// <returns>The weight memory after quantization against bfloat16 (no logits error: see <see cref="QuantizationReport.Measure"/>).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="blockSize"/> is below 2 or odd.</exception>
    public QuantizationReport QuantizeBaseWeights(bool doubleQuant = true, int blockSize = Nf4.DefaultBlockSize)
    {
        if (blockSize < 2 || blockSize % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "The block size must be even and at least 2; bitsandbytes uses 64.");
        foreach (var lin in Linears)
            if (lin.QuantizedWeight is null) lin.QuantizeWeight(doubleQuant, blockSize);
        return QuantizationReport.ForModel(this);
    }

    /// <summary>Decodes every NF4 base weight back to a dense one in the compute dtype (for export; the rounding stays).</summary>
    public void DequantizeBaseWeights()
    {
        foreach (var lin in Linears) lin.DequantizeWeightInPlace();
    }
}
