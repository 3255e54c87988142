using MLNetLora.LibTorch;

namespace MLNetLora.Models.Transformer;

/// <summary>What a trained base weight is, which decides its optimizer group (norms and biases get no weight decay).</summary>
public enum WeightKind
{
    /// <summary>A linear layer's weight matrix, including an untied LM head.</summary>
    Matrix,

    /// <summary>The token embedding table (also the LM head when tied).</summary>
    Embedding,

    /// <summary>An RMSNorm scale.</summary>
    Norm,

    /// <summary>A linear layer's bias.</summary>
    Bias,
}

/// <summary>A base weight that full fine-tuning trains, with its gradient buffer (same shape, dtype and device).</summary>
/// <param name="Name">Hugging Face name, e.g. <c>model.layers.0.mlp.down_proj.weight</c>.</param>
/// <param name="Value">The live weight, updated in place by the optimizer.</param>
/// <param name="Grad">Its accumulated gradient.</param>
/// <param name="Kind">What the weight is.</param>
public sealed record TrainableWeight(string Name, Tensor Value, Tensor Grad, WeightKind Kind)
{
    /// <summary>Norm scales and biases are excluded from weight decay, as transformers' Trainer does.</summary>
    public bool NoDecay => Kind is WeightKind.Norm or WeightKind.Bias;
}
