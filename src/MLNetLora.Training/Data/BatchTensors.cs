using MLNetLora.LibTorch;

namespace MLNetLora.Training.Data;

/// <summary>The one conversion of a host <see cref="Batch"/> into the tensors a forward pass takes.</summary>
public static class BatchTensors
{
    /// <summary>
    /// Token ids (B, T) int64 and the attention mask (B, T), or null when no row is padded (the
    /// kernels then take their fast causal path), both on <paramref name="device"/> and owned by the
    /// current <see cref="TensorScope"/>.
    /// </summary>
    public static (Tensor Ids, Tensor? Mask) ToTensors(this Batch batch, Device device)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var ids = Tensor.FromArray(batch.InputIds, batch.Size, batch.Length).To(device);
        var mask = batch.HasPadding ? Tensor.FromArray(batch.AttentionMask, batch.Size, batch.Length).To(device) : null;
        return (ids, mask);
    }
}
