using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Models.Transformer;

/// <summary>An <see cref="IWeightSource"/> over a (possibly sharded) safetensors checkpoint.</summary>
public sealed class CheckpointWeightSource(ModelCheckpoint checkpoint) : IWeightSource
{
    /// <inheritdoc/>
    public bool Contains(string name) => checkpoint.Contains(name);

    /// <inheritdoc/>
    /// <exception cref="CheckpointException">The tensor is missing or has another shape.</exception>
    public Tensor Load(string name, long[] expectedShape) => checkpoint.Load(name, expectedShape);
}
