using MLNetLora.LibTorch;
using MLNetLora.Models.Lora;

namespace MLNetLora.Models.Transformer;

public sealed partial class DecoderLayer
{
    // q/k/v as three projections, or one fused qkv_proj split along the output (Phi-3).
    private (Tensor Q, Tensor K, Tensor V) ProjectQkv(Tensor xn, Saved? saved, Generator? dropout)
    {
        int qw = spec.NumHeads * spec.HeadDim, kvw = spec.NumKvHeads * spec.HeadDim;
        if (AttentionProjections.Length == 1)
        {
            var qkv = AttentionProjections[0].Forward(xn, saved?.AttnIn[0], dropout);   // (B, T, qw + 2 kvw)
            return (qkv.Narrow(-1, 0, qw), qkv.Narrow(-1, qw, kvw), qkv.Narrow(-1, qw + kvw, kvw));
        }
        return (AttentionProjections[0].Forward(xn, saved?.AttnIn[0], dropout),
                AttentionProjections[1].Forward(xn, saved?.AttnIn[1], dropout),
                AttentionProjections[2].Forward(xn, saved?.AttnIn[2], dropout));
    }

    private Tensor QkvBackward(Tensor dq, Tensor dk, Tensor dv, Saved saved)
    {
        if (AttentionProjections.Length == 1)
            return AttentionProjections[0].Backward(Tensor.Cat([dq, dk, dv], -1), saved.AttnIn[0])!;
        return AttentionProjections[0].Backward(dq, saved.AttnIn[0])!
             + AttentionProjections[1].Backward(dk, saved.AttnIn[1])!
             + AttentionProjections[2].Backward(dv, saved.AttnIn[2])!;
    }

    // gate/up as two projections, or one fused gate_up_proj whose first half is the gate (Phi-3).
    private (Tensor G, Tensor U) ProjectGateUp(Tensor xn, Saved? saved, Generator? dropout)
    {
        if (MlpIn.Length == 1)
        {
            var gu = MlpIn[0].Forward(xn, saved?.MlpIn[0], dropout);                    // (B, T, 2I)
            long i = gu.Size(-1) / 2;
            return (gu.Narrow(-1, 0, i), gu.Narrow(-1, i, i));
        }
        return (MlpIn[0].Forward(xn, saved?.MlpIn[0], dropout), MlpIn[1].Forward(xn, saved?.MlpIn[1], dropout));
    }

    private Tensor GateUpBackward(Tensor dg, Tensor du, Saved saved)
    {
        if (MlpIn.Length == 1) return MlpIn[0].Backward(Tensor.Cat([dg, du], -1), saved.MlpIn[0])!;
        return MlpIn[0].Backward(dg, saved.MlpIn[0])! + MlpIn[1].Backward(du, saved.MlpIn[1])!;
    }

    // Moves every saved activation out of the layer's scope so it survives until backward.
    private static void KeepAll(TensorScope scope, Saved s)
    {
        foreach (var t in s.Tensors()) scope.Keep(t);
    }
}
