using MLNetLora.LibTorch;
using MLNetLora.Models.Quantization;

namespace MLNetLora.Models.Lora;

/// <summary>
/// A drop-in linear layer <c>y = x Wᵀ + b + scale · (drop(x) Aᵀ) Bᵀ</c> with a frozen base weight
/// and an optional LoRA adapter. Forward and backward sit side by side; backward returns dx and
/// accumulates the adapter's gradients, and W's and b's only when full fine-tuning gave them
/// gradient buffers (<see cref="GradWeight"/>, <see cref="GradBias"/>). A DoRA adapter takes
/// the path in LoraLinear.Dora.cs.
/// </summary>
public sealed partial class LoraLinear : IDisposable
{
    /// <summary>Wraps a frozen weight (out, in) and optional bias (out).</summary>
    public LoraLinear(string name, Tensor weight, Tensor? bias, LoraAdapter? adapter = null, double dropout = 0)
    {
        ArgumentNullException.ThrowIfNull(weight);
        Name = name;
        denseWeight = weight;
        Bias = bias;
        Adapter = adapter;
        Dropout = dropout;
    }

    /// <summary>Module path, e.g. <c>model.layers.0.self_attn.q_proj</c>.</summary>
    public string Name { get; }

    private Tensor? denseWeight;   // (out, in) dense base weight; null while it is held as NF4

    /// <summary>Frozen base weight (out, in) in the compute dtype.</summary>
    /// <exception cref="InvalidOperationException">The base weight is stored in 4-bit NF4 (<see cref="QuantizedWeight"/>); use <see cref="DequantizeWeight"/> for a dense copy.</exception>
    public Tensor Weight => denseWeight ?? throw new InvalidOperationException(
        $"{Name} holds its base weight in 4-bit NF4 (QuantizedWeight); call DequantizeWeight() for a dense copy, or MergeAdapters()/DequantizeBaseWeights() on the model to make it dense again.");

    /// <summary>The frozen base weight in 4-bit NF4 (QLoRA), or null while it is dense.</summary>
    public Nf4Tensor? QuantizedWeight { get; private set; }

    /// <summary>Frozen bias (out), if any.</summary>
    public Tensor? Bias { get; }

    /// <summary>The adapter, when this module is a LoRA target.</summary>
    public LoraAdapter? Adapter { get; set; }

    /// <summary>Gradient buffer of <see cref="Weight"/> (out, in) when the base weight is trained (full fine-tuning); null when frozen.</summary>
    /// <remarks>A tied LM head shares the embedding table's buffer, so both uses add into one gradient.</remarks>
    public Tensor? GradWeight { get; set; }

    /// <summary>Gradient buffer of <see cref="Bias"/> (out) when the bias is trained; null when frozen.</summary>
    public Tensor? GradBias { get; set; }

    /// <summary>Dropout probability on the adapter's input while training.</summary>
    public double Dropout { get; set; }

    /// <summary>Input width.</summary>
    public int InFeatures => (int)(denseWeight?.Size(1) ?? QuantizedWeight!.Shape[1]);

    /// <summary>Output width.</summary>
    public int OutFeatures => (int)(denseWeight?.Size(0) ?? QuantizedWeight!.Shape[0]);

    /// <summary>What backward needs from one forward call.</summary>
    public sealed class Saved
    {
        internal Tensor X = null!;          // (N.., in)
        internal Tensor? XDropped;          // (N.., in) input to A after dropout, when dropout is on
        internal Tensor? XA;                // (N.., r) drop(x)·Aᵀ, times the scale on the plain-LoRA path
        internal Tensor? DropMask;          // (N.., in) already divided by (1 - p)
        internal Tensor? DoraNorm;          // (out) DoRA's detached ‖W + scale·B·A‖_row, adapter dtype
        internal Tensor? DoraScale;         // (out) DoRA's m / norm, adapter dtype
        internal Tensor? DoraDirection;     // (N.., out) DoRA's xd Wᵀ + scale·xd Aᵀ Bᵀ, before the magnitude scale

        internal IEnumerable<Tensor> Tensors()
        {
            foreach (var t in new[] { X, XDropped, XA, DropMask, DoraNorm, DoraScale, DoraDirection })
                if (t is not null) yield return t;
        }
    }

    /// <summary>Forward pass. When <paramref name="saved"/> is given it receives what backward needs.</summary>
    /// <param name="x">Input (..., in).</param>
    /// <param name="saved">Filled for training; null for inference.</param>
    /// <param name="dropoutGenerator">Draws the dropout mask; null disables dropout (evaluation).</param>
    /// <returns>Output (..., out).</returns>
    public Tensor Forward(Tensor x, Saved? saved = null, Generator? dropoutGenerator = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (Adapter is { IsDora: true }) return ForwardDora(x, saved, dropoutGenerator);
        using var scope = TensorScope.Begin();
        var y = LinearBase(x);                                               // (.., out)
        if (Adapter is not null)
        {
            var a = Adapter.A.DType == x.DType ? Adapter.A : Adapter.A.To(x.DType);   // (r, in)
            var b = Adapter.B.DType == x.DType ? Adapter.B : Adapter.B.To(x.DType);   // (out, r)
            var mask = DropoutMask(x, dropoutGenerator);                      // (.., in) or null
            var xd = mask is null ? x : x * mask;                            // (.., in)
            // Scaling the rank-r product (N·r values) instead of the (N, out) update, and adding it into y with
            // one gemm (β = 1), avoids two (N, out) temporaries per adapted layer.
            var xa = xd.Linear(a) * Adapter.Scale;                           // (.., r) scaled
            if (y.IsContiguous) y.View(-1, OutFeatures).Addmm_(xa.Reshape(-1, Adapter.Rank), b.T());   // (N, out) += xa·Bᵀ
            else y = y + xa.Linear(b);                                       // (.., out)
            if (saved is not null)
            {
                saved.XA = scope.Keep(xa);
                if (mask is not null)
                {
                    saved.DropMask = scope.Keep(mask);
                    saved.XDropped = scope.Keep(xd);
                }
            }
        }
        if (saved is not null) saved.X = scope.Keep(x.Alias());
        return scope.Keep(y);
    }

    /// <summary>Backward pass: returns dx and adds the adapter's dA, dB to its gradient buffers.</summary>
    /// <param name="dy">Gradient of the output (..., out).</param>
    /// <param name="saved">From the matching <see cref="Forward"/>.</param>
    /// <param name="needInputGrad">False skips dx (for the first frozen layer of a model).</param>
    /// <returns>Gradient of the input (..., in), or null when not needed.</returns>
    public Tensor? Backward(Tensor dy, Saved saved, bool needInputGrad = true)
    {
        ArgumentNullException.ThrowIfNull(dy);
        ArgumentNullException.ThrowIfNull(saved);
        if (Adapter is { IsDora: true }) return BackwardDora(dy, saved, needInputGrad);
        using var scope = TensorScope.Begin();
        Tensor? dx = needInputGrad ? BaseMatMul(dy) : null;                 // (.., in)
        if (GradWeight is not null || GradBias is not null)
        {
            var dyN = dy.Reshape(-1, dy.Size(-1));                           // (N, out)
            GradWeight?.Addmm_(dyN.T(), saved.X.Reshape(-1, InFeatures));   // (out, in) += dyᵀ x
            GradBias?.Add_(dyN.Sum(0));                                      // (out)
        }
        if (Adapter is not null)
        {
            var a = Adapter.A.DType == dy.DType ? Adapter.A : Adapter.A.To(dy.DType);  // (r, in)
            var b = Adapter.B.DType == dy.DType ? Adapter.B : Adapter.B.To(dy.DType);  // (out, r)
            double s = Adapter.Scale;
            var dy2 = dy.Reshape(-1, dy.Size(-1));                           // (N, out)
            var xas = saved.XA!.Reshape(-1, Adapter.Rank);                   // (N, r) already scaled
            var xd2 = (saved.XDropped ?? saved.X).Reshape(-1, Adapter.InFeatures); // (N, in)
            var dyBs = dy2.Mm(b) * s;                                        // (N, r)
            if (Adapter.GradA.DType == dy.DType)
            {
                // Straight into the gradient buffers (β = 1): no (out, r) or (r, in) temporaries and no copy.
                Adapter.GradB.Addmm_(dy2.T(), xas);                          // (out, r) += dyᵀ·(s·xa)
                Adapter.GradA.Addmm_(dyBs.T(), xd2);                         // (r, in) += (s·dy·B)ᵀ·xd
            }
            else Adapter.AccumulateGrad(dyBs.T().Mm(xd2), dy2.T().Mm(xas));
            if (dx is not null)
            {
                if (saved.DropMask is null && dx.IsContiguous) dx.View(-1, Adapter.InFeatures).Addmm_(dyBs, a);   // (N, in) += s·dy·B·A
                else
                {
                    var dxd = dyBs.Mm(a).Reshape(dx.Shape);                  // (.., in)
                    if (saved.DropMask is not null) dxd = dxd * saved.DropMask;
                    dx = dx + dxd;
                }
            }
        }
        return dx is null ? null : scope.Keep(dx);
    }

    // The inverted-dropout mask on the adapter's input (kept entries are 1/(1-p)), or null when dropout is off
    // or this is evaluation (no generator). Call inside a scope.
    private Tensor? DropoutMask(Tensor x, Generator? dropoutGenerator)
    {
        if (!(Dropout > 0) || dropoutGenerator is null) return null;
        using var keep = Tensor.Rand(x.Shape, dropoutGenerator, 0, 1, DType.Float32, x.Device);
        return keep.Gt(Dropout).To(x.DType) * (1.0 / (1 - Dropout));       // (.., in)
    }

    /// <summary>
    /// Folds the adapter into the base weight (<c>W += scale·B·A</c>, or DoRA's rescaled <c>W + scale·B·A</c>)
    /// and removes it. An NF4 base weight is dequantized first and stays dense in the compute dtype (with
    /// or without an adapter): the adapter was trained against the dequantized weight, and re-quantizing
    /// would round the small update away (PEFT re-quantizes and warns about exactly that).
    /// </summary>
    public void Merge()
    {
        if (Adapter is null && QuantizedWeight is null) return;
        using var scope = TensorScope.Begin();
        var dense = denseWeight ?? QuantizedWeight!.Dequantize();                           // (out, in)
        var merged = Adapter is null ? dense : Adapter.MergedWeight(dense);
        var old = denseWeight;
        denseWeight = scope.Keep(merged).DetachFromScopes();
        old?.Dispose();
        QuantizedWeight?.Dispose();
        QuantizedWeight = null;
        Adapter = null;
    }

    /// <summary>
    /// Replaces the dense base weight by its NF4 quantization (QLoRA) and frees the dense copy. From
    /// then on each forward and backward decodes it to the input's dtype just for its matmul.
    /// </summary>
    /// <param name="doubleQuant">Also quantize the block scales to 8 bits (QLoRA's double quantization).</param>
    /// <param name="blockSize">Weights per absmax block (bitsandbytes: 64).</param>
    /// <exception cref="InvalidOperationException">The weight is already quantized.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="blockSize"/> is below 2 or odd.</exception>
    public void QuantizeWeight(bool doubleQuant = true, int blockSize = Nf4.DefaultBlockSize)
    {
        if (denseWeight is null) throw new InvalidOperationException($"{Name}'s base weight is already quantized.");
        QuantizedWeight = Nf4Tensor.Quantize(denseWeight, blockSize, doubleQuant);
        denseWeight.Dispose();
        denseWeight = null;
    }

    /// <summary>Makes an NF4 base weight dense again (in the dtype it was quantized from); nothing happens when it is dense.</summary>
    public void DequantizeWeightInPlace()
    {
        if (QuantizedWeight is null) return;
        using var scope = TensorScope.Begin();
        denseWeight = scope.Keep(QuantizedWeight.Dequantize()).DetachFromScopes();
        QuantizedWeight.Dispose();
        QuantizedWeight = null;
    }

    /// <summary>A dense copy of the base weight (out, in): the dequantized NF4 weight, or a clone of the dense one.</summary>
    /// <returns>A tensor the caller owns.</returns>
    public Tensor DequantizeWeight() => QuantizedWeight?.Dequantize() ?? Weight.Clone();

    // x·Wᵀ (+ b) with the base weight: an NF4 weight is decoded to x's dtype for this one matmul and the
    // dense copy freed straight after, so no layer ever holds more than its own dense weight.
    private Tensor LinearBase(Tensor x)
    {
        if (denseWeight is not null) return x.Linear(denseWeight, Bias);
        using var w = QuantizedWeight!.Dequantize(x.DType).DetachFromScopes();       // (out, in)
        return x.Linear(w, Bias);                                                      // (.., out)
    }

    // The whole base weight for a computation that needs it (DoRA's row norms): the dense weight, or the
    // NF4 weight decoded into the caller's scope.
    private Tensor BaseWeight(DType dtype) => denseWeight ?? QuantizedWeight!.Dequantize(dtype);

    // dy·W for the input gradient; decodes the NF4 weight again rather than keeping forward's copy (that is QLoRA's saving).
    private Tensor BaseMatMul(Tensor dy)
    {
        if (denseWeight is not null) return dy.MatMul(denseWeight);
        using var w = QuantizedWeight!.Dequantize(dy.DType).DetachFromScopes();      // (out, in)
        return dy.MatMul(w);                                                           // (.., in)
    }

    /// <summary>Frees the base weight and bias (the adapter is owned by the model's adapter set).</summary>
    public void Dispose()
    {
        denseWeight?.Dispose();
        QuantizedWeight?.Dispose();
        Bias?.Dispose();
    }
}
