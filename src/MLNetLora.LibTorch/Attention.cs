namespace MLNetLora.LibTorch;

/// <summary>
/// Fused scaled-dot-product attention, forward and backward, from libtorch's own kernels: the CPU
/// flash kernel on CPU, the memory-efficient kernel on CUDA (it accepts float32 and bfloat16, and
/// an additive mask). Layout is (B, H, T, D) for queries, keys and values; keys and values must
/// already have as many heads as queries (repeat them for grouped-query attention).
/// </summary>
public static class Attention
{
    /// <summary>What the backward pass needs from the forward pass.</summary>
    /// <param name="Output">The attention output (B, H, T, D).</param>
    /// <param name="LogSumExp">Per-row log-sum-exp of the scores.</param>
    /// <param name="Extra">Kernel-specific state (CUDA: philox seed and offset), possibly empty.</param>
    public sealed record Result(Tensor Output, Tensor LogSumExp, Tensor[] Extra) : IDisposable
    {
        /// <summary>Frees every tensor of the result.</summary>
        public void Dispose()
        {
            Output.Dispose();
            LogSumExp.Dispose();
            foreach (var t in Extra) t.Dispose();
        }
    }

    /// <summary>
    /// <c>softmax(q kᵀ · scale + mask) v</c>, causal when <paramref name="causal"/>.
    /// </summary>
    /// <param name="q">Queries (B, H, T, D).</param>
    /// <param name="k">Keys (B, H, S, D).</param>
    /// <param name="v">Values (B, H, S, D).</param>
    /// <param name="causal">Mask out future positions.</param>
    /// <param name="mask">Optional additive mask broadcastable to (B, H, T, S), e.g. -inf at padding.</param>
    /// <param name="scale">Score scale; 1/√D when null.</param>
    /// <exception cref="TorchException">The kernel rejected the inputs (shape, dtype or device).</exception>
    public static Result Forward(Tensor q, Tensor k, Tensor v, bool causal, Tensor? mask = null, double? scale = null)
    {
        ArgumentNullException.ThrowIfNull(q);
        if (q.Device.IsCuda)
        {
            using var bias = mask is null ? null : CudaBias(mask, q, k);
            var r = Aten.CallMany("aten::_scaled_dot_product_efficient_attention", "", 4,
                q, k, v, AtenArg.Optional(bias), true, 0.0, causal, AtenArg.Optional(scale));
            return new Result(r[0], r[1], [r[2], r[3]]);
        }
        var c = Aten.CallMany("aten::_scaled_dot_product_flash_attention_for_cpu", "", 2,
            q, k, v, 0.0, causal, AtenArg.Optional(mask), AtenArg.Optional(scale));
        return new Result(c[0], c[1], []);
    }

    /// <summary>Gradients of <see cref="Forward"/> with respect to q, k and v.</summary>
    /// <param name="dOut">Gradient of the output (B, H, T, D).</param>
    /// <param name="q">Queries given to the forward pass.</param>
    /// <param name="k">Keys given to the forward pass.</param>
    /// <param name="v">Values given to the forward pass.</param>
    /// <param name="fwd">The forward pass's result.</param>
    /// <param name="causal">As in the forward pass.</param>
    /// <param name="mask">As in the forward pass.</param>
    /// <param name="scale">As in the forward pass.</param>
    /// <exception cref="TorchException">The kernel rejected the inputs.</exception>
    public static (Tensor dQ, Tensor dK, Tensor dV) Backward(Tensor dOut, Tensor q, Tensor k, Tensor v, Result fwd,
        bool causal, Tensor? mask = null, double? scale = null)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(fwd);
        if (q.Device.IsCuda)
        {
            // grad_input_mask: (q, k, v, bias); the bias needs no gradient.
            using var bias = mask is null ? null : CudaBias(mask, q, k);
            var r = Aten.CallMany("aten::_scaled_dot_product_efficient_attention_backward", "", 4,
                dOut, q, k, v, bias is null ? AtenArg.Undefined : bias, fwd.Output, fwd.LogSumExp, fwd.Extra[0], fwd.Extra[1],
                0.0, AtenArg.Of([true, true, true, false]), causal, AtenArg.Optional(scale));
            r[3].Dispose();
            return (r[0], r[1], r[2]);
        }
        var c = Aten.CallMany("aten::_scaled_dot_product_flash_attention_for_cpu_backward", "", 3,
            dOut, q, k, v, fwd.Output, fwd.LogSumExp, 0.0, causal, AtenArg.Optional(mask), AtenArg.Optional(scale));
        return (c[0], c[1], c[2]);
    }

    /// <summary>
    /// The memory-efficient CUDA kernel wants its additive bias with every stride but the last a
    /// multiple of 8 elements and the full (B, H, T, S) shape; PyTorch's own
    /// <c>scaled_dot_product_attention</c> prepares it the same way (pad the last dimension, slice
    /// back, expand) before calling this kernel.
    /// </summary>
    internal static Tensor CudaBias(Tensor mask, Tensor q, Tensor k)
    {
        using var scope = TensorScope.Begin();
        var m = mask.Device == q.Device && mask.DType == q.DType ? mask : mask.To(q.DType, q.Device);
        long s = m.Size(-1);
        if (m.Strides.Take(m.Rank - 1).Any(st => st % 8 != 0))
        {
            long padded = (s + 7) / 8 * 8;
            var shape = m.Shape.ToArray();
            shape[^1] = padded;
            var buffer = Tensor.Zeros(shape, m.DType, m.Device);
            var view = buffer.Narrow(-1, 0, s);
            view.CopyFrom(m);
            m = view;
        }
        return scope.Keep(m.Expand(q.Size(0), q.Size(1), q.Size(2), k.Size(2)));
    }
}
