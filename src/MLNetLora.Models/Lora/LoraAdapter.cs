using MLNetLora.LibTorch;

namespace MLNetLora.Models.Lora;

/// <summary>
/// The trainable factors of one adapted linear layer: A (r, in) and B (out, r), stored in float32
/// (float64 for gradient checks) whatever the compute dtype, with gradient buffers of the same shape.
/// Initialised as PEFT does: A Kaiming-uniform with a=√5 (bound 1/√in), B zero. A DoRA adapter also
/// has a magnitude vector m (out) in the same dtype, set by <see cref="InitMagnitude"/> to the row norms
/// of the base weight, as PEFT's <c>DoraLinearLayer.update_layer</c> does.
/// </summary>
public sealed class LoraAdapter : IDisposable
{
    /// <summary>Creates zero-initialised factors; call <see cref="ResetParameters"/> for PEFT's init.</summary>
    /// <param name="name">Module path (see <see cref="Name"/>).</param>
    /// <param name="inFeatures">Input width of the adapted layer.</param>
    /// <param name="outFeatures">Output width of the adapted layer.</param>
    /// <param name="rank">Rank r.</param>
    /// <param name="scale">The factor on <c>B·A</c>.</param>
    /// <param name="dtype">Storage dtype of the factors: float32, or float64 for gradient checks.</param>
    /// <param name="device">Where the factors live.</param>
    /// <param name="useDora">Also create the DoRA magnitude vector and its gradient (zero until <see cref="InitMagnitude"/>).</param>
    public LoraAdapter(string name, int inFeatures, int outFeatures, int rank, double scale, DType dtype, Device device, bool useDora = false)
    {
        Name = name;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Rank = rank;
        Scale = scale;
        A = Tensor.Zeros([rank, inFeatures], dtype, device).DetachFromScopes();
        B = Tensor.Zeros([outFeatures, rank], dtype, device).DetachFromScopes();
        GradA = Tensor.Zeros([rank, inFeatures], dtype, device).DetachFromScopes();
        GradB = Tensor.Zeros([outFeatures, rank], dtype, device).DetachFromScopes();
        if (useDora)
        {
            Magnitude = Tensor.Zeros([outFeatures], dtype, device).DetachFromScopes();
            GradMagnitude = Tensor.Zeros([outFeatures], dtype, device).DetachFromScopes();
        }
    }

    /// <summary>Module path as PEFT names it, e.g. <c>model.layers.0.self_attn.q_proj</c>.</summary>
    public string Name { get; }

    /// <summary>Input width of the adapted layer.</summary>
    public int InFeatures { get; }

    /// <summary>Output width of the adapted layer.</summary>
    public int OutFeatures { get; }

    /// <summary>Rank r.</summary>
    public int Rank { get; }

    /// <summary>alpha/r or alpha/√r.</summary>
    public double Scale { get; }

    /// <summary>Down projection (r, in).</summary>
    public Tensor A { get; }

    /// <summary>Up projection (out, r).</summary>
    public Tensor B { get; }

    /// <summary>Accumulated gradient of A.</summary>
    public Tensor GradA { get; }

    /// <summary>Accumulated gradient of B.</summary>
    public Tensor GradB { get; }

    /// <summary>DoRA's magnitude m (out), PEFT's <c>lora_magnitude_vector</c>; null for plain LoRA.</summary>
    public Tensor? Magnitude { get; }

    /// <summary>Accumulated gradient of <see cref="Magnitude"/>; null for plain LoRA.</summary>
    public Tensor? GradMagnitude { get; }

    /// <summary>Whether this is a DoRA adapter (it has a <see cref="Magnitude"/>).</summary>
    public bool IsDora => Magnitude is not null;

    /// <summary>PEFT's default init: A ~ U(−1/√in, 1/√in) from <paramref name="generator"/>, B = 0.</summary>
    public void ResetParameters(Generator generator)
    {
        double bound = 1.0 / Math.Sqrt(InFeatures); // kaiming_uniform_(a=√5): gain √(1/3), bound gain·√(3/in)
        using var a = Tensor.Rand([Rank, InFeatures], generator, -bound, bound, DType.Float32);
        A.CopyFrom(a);
        B.Zero_();
    }

    /// <summary>Sets every gradient buffer to zero.</summary>
    public void ZeroGrad()
    {
        GradA.Zero_();
        GradB.Zero_();
        GradMagnitude?.Zero_();
    }

    /// <summary>Adds to the gradient buffers (converting dtype and device as needed).</summary>
    public void AccumulateGrad(Tensor dA, Tensor dB)
    {
        using var scope = TensorScope.Begin();
        GradA.CopyFrom(GradA + dA.To(GradA.DType));
        GradB.CopyFrom(GradB + dB.To(GradB.DType));
    }

    /// <summary>Adds <paramref name="dm"/> (out) to the magnitude's gradient (converting dtype and device as needed).</summary>
    /// <exception cref="InvalidOperationException">This is not a DoRA adapter.</exception>
    public void AccumulateMagnitudeGrad(Tensor dm)
    {
        ArgumentNullException.ThrowIfNull(dm);
        var grad = GradMagnitude ?? throw new InvalidOperationException($"Adapter {Name} is plain LoRA; it has no magnitude to take a gradient.");
        using var scope = TensorScope.Begin();
        grad.CopyFrom(grad + dm.To(grad.DType));
    }

    /// <summary>
    /// The row norms <c>‖W + scale·B·A‖₂</c> over the input dimension (out), in this adapter's dtype
    /// whatever <paramref name="weight"/>'s: the denominator of DoRA's <c>m / ‖·‖</c>, which PEFT's
    /// <c>get_weight_norm</c> computes.
    /// </summary>
    /// <param name="weight">The frozen base weight (out, in).</param>
    public Tensor WeightNorm(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        using var scope = TensorScope.Begin();
        return scope.Keep(RowNorms(Direction(weight)));                      // (out)
    }

    /// <summary>Sets the magnitude to <see cref="WeightNorm"/> of <paramref name="weight"/>, so DoRA starts out computing the base layer.</summary>
    /// <exception cref="InvalidOperationException">This is not a DoRA adapter.</exception>
    public void InitMagnitude(Tensor weight)
    {
        var m = Magnitude ?? throw new InvalidOperationException($"Adapter {Name} is plain LoRA; it has no magnitude to initialise.");
        using var norm = WeightNorm(weight);
        m.CopyFrom(norm);
    }

    /// <summary>The dense update <c>scale · B·A</c> (out, in): LoRA's merge adds it to W; for DoRA it is only the directional part (see <see cref="MergedWeight"/>).</summary>
    public Tensor DeltaWeight()
    {
        using var scope = TensorScope.Begin();
        return scope.Keep(B.Mm(A) * Scale);
    }

    /// <summary>
    /// The base weight with this adapter folded in, in <paramref name="weight"/>'s dtype: <c>W + scale·B·A</c>,
    /// or for DoRA PEFT's <c>(m / ‖W + scale·B·A‖_row) ⊙ (W + scale·B·A)</c>, computed in the adapter's dtype.
    /// </summary>
    /// <param name="weight">The frozen base weight (out, in).</param>
    public Tensor MergedWeight(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        using var scope = TensorScope.Begin();
        if (Magnitude is null) return scope.Keep(weight + DeltaWeight().To(weight.DType));
        var v = Direction(weight);                                           // (out, in)
        var g = Magnitude / RowNorms(v);                                     // (out)
        return scope.Keep((v * g.Unsqueeze(1)).To(weight.DType));            // (out, in)
    }

    // ‖v‖₂ of each row (out), PEFT's get_weight_norm. Call inside a scope.
    private static Tensor RowNorms(Tensor v) => (v * v).Sum(1).Sqrt();

    // W + scale·B·A (out, in) in the adapter's dtype: a bfloat16 W is promoted by the add, a float32 W under
    // float64 adapters (never made by DecoderModel) converted. Call inside a scope.
    private Tensor Direction(Tensor weight)
    {
        var v = weight.Add(B.Mm(A), Scale);                                  // (out, in)
        return v.DType == A.DType ? v : v.To(A.DType);
    }

    /// <summary>Frees the factors, the magnitude and their gradients.</summary>
    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
        GradA.Dispose();
        GradB.Dispose();
        Magnitude?.Dispose();
        GradMagnitude?.Dispose();
    }
}
