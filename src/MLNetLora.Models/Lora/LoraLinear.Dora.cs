using MLNetLora.LibTorch;

namespace MLNetLora.Models.Lora;

/// <summary>
/// DoRA (weight-decomposed LoRA) as PEFT's <c>DoraLinearLayer</c> computes it. With
/// <c>g = m / ‖W + scale·B·A‖_row</c> (out), the norm a constant in backward (DoRA paper §4.3):
/// <c>y = x Wᵀ + b + (g−1)⊙(xd Wᵀ) + g⊙scale·(xd Aᵀ) Bᵀ</c>, where xd is the dropped-out input while
/// training with dropout and x itself otherwise, so without dropout <c>y = g⊙(x Wᵀ + scale·x Aᵀ Bᵀ) + b</c>.
/// </summary>
public sealed partial class LoraLinear
{
    private Tensor ForwardDora(Tensor x, Saved? saved, Generator? dropoutGenerator)
    {
        var adapter = Adapter!;
        using var scope = TensorScope.Begin();
        var a = As(adapter.A, x.DType);                                      // (r, in)
        var b = As(adapter.B, x.DType);                                      // (out, r)
        // Recomputed every call (as PEFT does) so it always reflects the current A and B; never differentiated.
        var w = BaseWeight(x.DType);                                         // (out, in) dense, or NF4 decoded for this call
        var norm = adapter.WeightNorm(w);                               // (out) adapter dtype
        var g = adapter.Magnitude! / norm;                                   // (out) adapter dtype
        var mask = DropoutMask(x, dropoutGenerator);                         // (.., in) or null
        var xd = mask is null ? x : x * mask;                                // (.., in)
        var xa = xd.Linear(a);                                               // (.., r)
        var xdw = xd.Linear(w);                                         // (.., out)
        var u = xdw + xa.Linear(b) * adapter.Scale;                          // (.., out) direction term
        // g stays in the adapter's dtype in the product: rounding it to bfloat16 would erase small trained changes of m.
        Tensor y;
        if (mask is null)
        {
            y = As(u * g, x.DType);                                          // (.., out)
            if (Bias is not null) y = y + Bias;
        }
        else
        {
            // PEFT recomputes the base on the dropped input for the DoRA term but keeps x Wᵀ + b on the clean one.
            y = x.Linear(w, Bias) + As(u * g - xdw, x.DType);           // (.., out)
        }
        if (saved is not null)
        {
            saved.X = scope.Keep(x.Alias());
            saved.XA = scope.Keep(xa);
            saved.DoraNorm = scope.Keep(norm);
            saved.DoraScale = scope.Keep(g);
            saved.DoraDirection = scope.Keep(u);
            if (mask is not null)
            {
                saved.DropMask = scope.Keep(mask);
                saved.XDropped = scope.Keep(xd);
            }
        }
        return scope.Keep(y);
    }

    private Tensor? BackwardDora(Tensor dy, Saved saved, bool needInputGrad)
    {
        var adapter = Adapter!;
        using var scope = TensorScope.Begin();
        var w = BaseWeight(dy.DType);                                        // (out, in)
        var a = As(adapter.A, dy.DType);                                     // (r, in)
        var b = As(adapter.B, dy.DType);                                     // (out, r)
        double s = adapter.Scale;
        var g = saved.DoraScale!;                                            // (out) adapter dtype
        var dy2 = dy.Reshape(-1, dy.Size(-1));                               // (N, out)
        var u2 = saved.DoraDirection!.Reshape(-1, OutFeatures);              // (N, out)
        var xa2 = saved.XA!.Reshape(-1, adapter.Rank);                       // (N, r)
        var xd2 = (saved.XDropped ?? saved.X).Reshape(-1, adapter.InFeatures); // (N, in)
        // y depends on m only through g⊙u (the −xd Wᵀ of the dropout form has no m), and the norm is a constant.
        var dg = (As(dy2, g.DType) * As(u2, g.DType)).Sum(0);                // (out) summed in the adapter's dtype
        var dm = dg / saved.DoraNorm!;                                       // (out)
        var du = As(dy2 * g, dy.DType);                                      // (N, out) gradient of the direction term
        var duB = du.Mm(b);                                                  // (N, r)
        var dB = du.T().Mm(xa2) * s;                                         // (out, r)
        var dA = duB.T().Mm(xd2) * s;                                        // (r, in)
        adapter.AccumulateGrad(dA, dB);
        adapter.AccumulateMagnitudeGrad(dm);
        if (!needInputGrad) return null;
        var dxdLora = duB.Mm(a) * s;                                         // (N, in) through A
        Tensor dx2;
        if (saved.DropMask is null)
        {
            // x Wᵀ + (g−1)⊙x Wᵀ = g⊙x Wᵀ: the base and the direction term share x, so one matmul with W.
            dx2 = du.Mm(w) + dxdLora;                                   // (N, in)
        }
        else
        {
            // x Wᵀ + b sees the clean x; (g−1)⊙xd Wᵀ and the adapter see xd = x⊙mask.
            var mask2 = saved.DropMask.Reshape(-1, adapter.InFeatures);      // (N, in)
            var dyg1 = As(dy2 * (g - 1), dy.DType);                          // (N, out) g−1 in the adapter's dtype: near 1 it would cancel in bfloat16
            var dxd = dyg1.Mm(w) + dxdLora;                             // (N, in)
            dx2 = dy2.Mm(w) + dxd * mask2;                              // (N, in)
        }
        return scope.Keep(dx2.Reshape(saved.X.Shape));                       // (.., in)
    }

    // t itself when it already has the dtype, else a converted copy (in the caller's scope).
    private static Tensor As(Tensor t, DType dtype) => t.DType == dtype ? t : t.To(dtype);
}
