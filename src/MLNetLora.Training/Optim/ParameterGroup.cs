using MLNetLora.LibTorch;

namespace MLNetLora.Training.Optim;

/// <summary>
/// Parameters that share a learning-rate multiplier and weight decay: e.g. LoRA A factors, LoRA B
/// factors (LoRA+ gives B a multiple of A's rate), or a classification head.
/// </summary>
/// <param name="Name">Shown in logs and stored in checkpoints.</param>
/// <param name="Parameters">The tensors to update, in place.</param>
/// <param name="Gradients">Their gradients, same order and shapes.</param>
/// <param name="RateMultiplier">This group's rate = schedule rate × multiplier.</param>
/// <param name="WeightDecay">Decoupled weight decay for this group.</param>
public sealed record ParameterGroup(string Name, IReadOnlyList<Tensor> Parameters, IReadOnlyList<Tensor> Gradients,
    double RateMultiplier = 1.0, double WeightDecay = 0.0);
