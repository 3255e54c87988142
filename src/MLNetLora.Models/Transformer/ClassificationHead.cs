using MLNetLora.LibTorch;

namespace MLNetLora.Models.Transformer;

/// <summary>
/// The sequence-classification head of <c>LlamaForSequenceClassification</c>: a bias-free linear
/// map from the hidden state of each row's last real token to one score per class. Trainable.
/// </summary>
public sealed class ClassificationHead : IDisposable
{
    /// <summary>Creates a zero head; see <see cref="ResetParameters"/>.</summary>
    public ClassificationHead(int hiddenSize, int numLabels, DType dtype, Device device)
    {
        NumLabels = numLabels;
        Weight = Tensor.Zeros([numLabels, hiddenSize], dtype, device).DetachFromScopes();
        Grad = Tensor.Zeros([numLabels, hiddenSize], dtype, device).DetachFromScopes();
    }

    /// <summary>Number of classes.</summary>
    public int NumLabels { get; }

    /// <summary>Scores weight (L, C), <c>score.weight</c> in Hugging Face checkpoints.</summary>
    public Tensor Weight { get; }

    /// <summary>Accumulated gradient of <see cref="Weight"/>.</summary>
    public Tensor Grad { get; }

    /// <summary>transformers' init for the score layer: normal with std 0.02.</summary>
    public void ResetParameters(Generator generator)
    {
        using var w = Tensor.Randn(Weight.Shape, generator, Weight.DType);
        using var scaled = w * 0.02;
        Weight.CopyFrom(scaled);
    }

    /// <summary>Hidden states of each row's last real token.</summary>
    /// <param name="hidden">Final hidden states (B, T, C).</param>
    /// <param name="lastIndex">Per row, the position of its last real token.</param>
    /// <returns>(B, C).</returns>
    public static Tensor Pool(Tensor hidden, long[] lastIndex)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(lastIndex);
        using var scope = TensorScope.Begin();
        long b = hidden.Size(0), c = hidden.Size(2);
        var idx = Tensor.FromArray(lastIndex, b, 1, 1).To(hidden.Device).Expand(b, 1, c);  // (B, 1, C)
        return scope.Keep(hidden.Gather(1, idx).Squeeze(1));                              // (B, C)
    }

    /// <summary>Backward of <see cref="Pool"/>: scatters dPooled back to the pooled positions.</summary>
    public static Tensor PoolBackward(Tensor dPooled, long[] lastIndex, long time)
    {
        ArgumentNullException.ThrowIfNull(dPooled);
        ArgumentNullException.ThrowIfNull(lastIndex);
        using var scope = TensorScope.Begin();
        long b = dPooled.Size(0), c = dPooled.Size(1);
        var idx = Tensor.FromArray(lastIndex, b, 1, 1).To(dPooled.Device).Expand(b, 1, c);  // (B, 1, C)
        var zeros = Tensor.Zeros([b, time, c], dPooled.DType, dPooled.Device);
        return scope.Keep(zeros.ScatterAdd(1, idx, dPooled.Unsqueeze(1)));                 // (B, T, C)
    }

    /// <summary>Scores (B, L) from pooled states (B, C).</summary>
    public Tensor Forward(Tensor pooled)
    {
        ArgumentNullException.ThrowIfNull(pooled);
        using var scope = TensorScope.Begin();
        var w = Weight.DType == pooled.DType ? Weight : Weight.To(pooled.DType);
        return scope.Keep(pooled.Linear(w));
    }

    /// <summary>Accumulates dW and returns dPooled (B, C).</summary>
    public Tensor Backward(Tensor dScores, Tensor pooled)
    {
        ArgumentNullException.ThrowIfNull(dScores);
        ArgumentNullException.ThrowIfNull(pooled);
        using var scope = TensorScope.Begin();
        var w = Weight.DType == dScores.DType ? Weight : Weight.To(dScores.DType);
        var dW = dScores.T().Mm(pooled);                                                 // (L, C)
        Grad.CopyFrom(Grad + dW.To(Grad.DType));
        return scope.Keep(dScores.Mm(w));                                                // (B, C)
    }

    /// <summary>Sets the gradient to zero.</summary>
    public void ZeroGrad() => Grad.Zero_();

    /// <summary>Frees the weight and gradient.</summary>
    public void Dispose()
    {
        Weight.Dispose();
        Grad.Dispose();
    }
}
