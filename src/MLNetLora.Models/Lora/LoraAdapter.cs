using MLNetLora.LibTorch;

namespace MLNetLora.Models.Lora;

/// <summary>
/// The trainable factors of one adapted linear layer: A (r, in) and B (out, r), stored in float32
/// (float64 for gradient checks) whatever the compute dtype, with gradient buffers of the same shape.
/// Initialised as PEFT does: A Kaiming-uniform with a=√5 (bound 1/√in), B zero.
/// </summary>
public sealed class LoraAdapter : IDisposable
{
    /// <summary>Creates zero-initialised factors; call <see cref="ResetParameters"/> for PEFT's init.</summary>
    public LoraAdapter(string name, int inFeatures, int outFeatures, int rank, double scale, DType dtype, Device device)
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

    /// <summary>PEFT's default init: A ~ U(−1/√in, 1/√in) from <paramref name="generator"/>, B = 0.</summary>
    public void ResetParameters(Generator generator)
    {
        double bound = 1.0 / Math.Sqrt(InFeatures); // kaiming_uniform_(a=√5): gain √(1/3), bound gain·√(3/in)
        using var a = Tensor.Rand([Rank, InFeatures], generator, -bound, bound, DType.Float32);
        A.CopyFrom(a);
        B.Zero_();
    }

    /// <summary>Sets both gradient buffers to zero.</summary>
    public void ZeroGrad()
    {
        GradA.Zero_();
        GradB.Zero_();
    }

    /// <summary>Adds to the gradient buffers (converting dtype and device as needed).</summary>
    public void AccumulateGrad(Tensor dA, Tensor dB)
    {
        using var scope = TensorScope.Begin();
        GradA.CopyFrom(GradA + dA.To(GradA.DType));
        GradB.CopyFrom(GradB + dB.To(GradB.DType));
    }

    /// <summary>The dense update <c>scale · B·A</c> (out, in), for merging into the base weight.</summary>
    public Tensor DeltaWeight() 
    {
        using var scope = TensorScope.Begin();
        return scope.Keep(B.Mm(A) * Scale);
    }

    /// <summary>Frees the factors and gradients.</summary>
    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
        GradA.Dispose();
        GradB.Dispose();
    }
}
