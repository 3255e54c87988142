using MLNetLora.LibTorch;

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
        Weight = weight;
        Bias = bias;
        Adapter = adapter;
        Dropout = dropout;
    }

    /// <summary>Module path, e.g. <c>model.layers.0.self_attn.q_proj</c>.</summary>
    public string Name { get; }

    /// <summary>Frozen base weight (out, in) in the compute dtype.</summary>
    public Tensor Weight { get; private set; }

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
    public int InFeatures => (int)Weight.Size(1);

    /// <summary>Output width.</summary>
    public int OutFeatures => (int)Weight.Size(0);

    /// <summary>What backward needs from one forward call.</summary>
    public sealed class Saved
    {
        internal Tensor X = null!;          // (N.., in)
        internal Tensor? XDropped;          // (N.., in) input to A after dropout, when dropout is on
        internal Tensor? XA;                // (N.., r)
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
        var y = x.Linear(Weight, Bias);                                      // (.., out)
        if (Adapter is not null)
        {
            var a = Adapter.A.DType == x.DType ? Adapter.A : Adapter.A.To(x.DType);   // (r, in)
            var b = Adapter.B.DType == x.DType ? Adapter.B : Adapter.B.To(x.DType);   // (out, r)
            var mask = DropoutMask(x, dropoutGenerator);                      // (.., in) or null
            var xd = mask is null ? x : x * mask;                            // (.., in)
            var xa = xd.Linear(a);                                           // (.., r)
            y = y + xa.Linear(b) * Adapter.Scale;                            // (.., out)
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
        Tensor? dx = needInputGrad ? dy.MatMul(Weight) : null;              // (.., in)
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
            var xa2 = saved.XA!.Reshape(-1, Adapter.Rank);                   // (N, r)
            var xd2 = (saved.XDropped ?? saved.X).Reshape(-1, Adapter.InFeatures); // (N, in)
            var dyB = dy2.Mm(b);                                             // (N, r)
            var dB = dy2.T().Mm(xa2) * s;                                    // (out, r)
            var dA = dyB.T().Mm(xd2) * s;                                    // (r, in)
            Adapter.AccumulateGrad(dA, dB);
            if (dx is not null)
            {
                var dxd = (dyB.Mm(a) * s).Reshape(dx.Shape);                 // (.., in)
                if (saved.DropMask is not null) dxd = dxd * saved.DropMask;
                dx = dx + dxd;
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

    /// <summary>Folds the adapter into the base weight (<c>W += scale·B·A</c>, or DoRA's rescaled <c>W + scale·B·A</c>) and removes it.</summary>
    public void Merge()
    {
        if (Adapter is null) return;
        using var scope = TensorScope.Begin();
        var merged = Adapter.MergedWeight(Weight);
        var old = Weight;
        Weight = scope.Keep(merged).DetachFromScopes();
        old.Dispose();
        Adapter = null;
    }

    /// <summary>Frees the base weight and bias (the adapter is owned by the model's adapter set).</summary>
    public void Dispose()
    {
        Weight.Dispose();
        Bias?.Dispose();
    }
}
