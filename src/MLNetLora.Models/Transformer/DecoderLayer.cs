using MLNetLora.LibTorch;
using MLNetLora.Models.Generation;
using MLNetLora.Models.Lora;

namespace MLNetLora.Models.Transformer;

/// <summary>
/// One pre-norm decoder layer: <c>x2 = x + O(attn(rope(Q(n1(x))), rope(K(..)), V(..)))</c>,
/// <c>y = x2 + Down(silu(Gate(n2(x2))) ⊙ Up(n2(x2)))</c>. Forward and backward are written side by
/// side in the same order (llm.c style); every linear is a <see cref="LoraLinear"/>.
/// </summary>
public sealed partial class DecoderLayer : IDisposable
{
    private readonly DecoderSpec spec;

    /// <summary>Assembles a layer from its (already loaded) parts.</summary>
    public DecoderLayer(DecoderSpec spec, int index, Tensor inputNorm, Tensor postAttentionNorm,
        LoraLinear[] attentionProjections, LoraLinear output, LoraLinear[] mlpIn, LoraLinear down,
        Tensor? qNorm = null, Tensor? kNorm = null)
    {
        this.spec = spec;
        Index = index;
        InputNorm = inputNorm;
        PostAttentionNorm = postAttentionNorm;
        AttentionProjections = attentionProjections;
        OutputProjection = output;
        MlpIn = mlpIn;
        DownProjection = down;
        QNorm = qNorm;
        KNorm = kNorm;
    }

    /// <summary>Layer number.</summary>
    public int Index { get; }

    /// <summary>RMSNorm weight before attention (C).</summary>
    public Tensor InputNorm { get; }

    /// <summary>RMSNorm weight before the MLP (C).</summary>
    public Tensor PostAttentionNorm { get; }

    /// <summary>q, k, v projections, or one fused qkv projection (Phi-3).</summary>
    public LoraLinear[] AttentionProjections { get; }

    /// <summary>Attention output projection o_proj.</summary>
    public LoraLinear OutputProjection { get; }

    /// <summary>gate and up projections, or one fused gate_up projection (Phi-3).</summary>
    public LoraLinear[] MlpIn { get; }

    /// <summary>down_proj.</summary>
    public LoraLinear DownProjection { get; }

    /// <summary>Per-head query RMSNorm weight (D), Qwen3 only.</summary>
    public Tensor? QNorm { get; }

    /// <summary>Per-head key RMSNorm weight (D), Qwen3 only.</summary>
    public Tensor? KNorm { get; }

    /// <summary>Gradient buffer of <see cref="InputNorm"/> when it is trained (full fine-tuning); null when frozen.</summary>
    public Tensor? GradInputNorm { get; set; }

    /// <summary>Gradient buffer of <see cref="PostAttentionNorm"/> when it is trained; null when frozen.</summary>
    public Tensor? GradPostAttentionNorm { get; set; }

    /// <summary>Gradient buffer of <see cref="QNorm"/> when it is trained; null when frozen.</summary>
    public Tensor? GradQNorm { get; set; }

    /// <summary>Gradient buffer of <see cref="KNorm"/> when it is trained; null when frozen.</summary>
    public Tensor? GradKNorm { get; set; }

    /// <summary>Every linear module of the layer.</summary>
    public IEnumerable<LoraLinear> Linears => AttentionProjections.Append(OutputProjection).Concat(MlpIn).Append(DownProjection);

    /// <summary>Activations kept from forward for backward.</summary>
    public sealed class Saved
    {
        internal Tensor X = null!, Rstd1 = null!, X2 = null!, Rstd2 = null!;
        internal Tensor Qr = null!, Kr = null!, Vr = null!;                 // q (B, H, T, D) after rope; k, v (B, KV, T, D) before the GQA repeat
        internal Tensor? QPre, KPre, QRstd, KRstd;                           // Qwen3 q/k norm inputs (B, T, h, D)
        internal Attention.Result Attn = null!;
        internal Tensor G = null!, U = null!;                                // (B, T, I) gate and up pre-activations
        internal readonly LoraLinear.Saved[] AttnIn = [new(), new(), new()];
        internal readonly LoraLinear.Saved O = new(), Down = new();
        internal readonly LoraLinear.Saved[] MlpIn = [new(), new()];

        /// <summary>Every tensor held, for disposal.</summary>
        internal IEnumerable<Tensor> Tensors()
        {
            foreach (var t in new[] { X, Rstd1, X2, Rstd2, Qr, Kr, Vr, G, U, QPre, KPre, QRstd, KRstd })
                if (t is not null) yield return t;
            if (Attn is not null)
            {
                yield return Attn.Output;
                yield return Attn.LogSumExp;
                foreach (var t in Attn.Extra) yield return t;
            }
            foreach (var l in AttnIn.Concat(MlpIn).Append(O).Append(Down))
                foreach (var t in l.Tensors()) yield return t;
        }
    }

    /// <summary>Shared per-forward inputs: rope tables, masks and the dropout generator.</summary>
    public sealed record Context(Tensor Cos, Tensor Sin, Tensor? AttentionMask, bool Causal, Generator? Dropout);

    /// <summary>
    /// Forward pass, for training and for inference alike. With a <paramref name="cache"/> the new keys
    /// and values are written into it and attention runs over all S = past + T cached positions.
    /// </summary>
    /// <param name="x">Residual stream of the (new) tokens (B, T, C).</param>
    /// <param name="ctx">Rope tables of their positions (B, 1, T, R), additive mask (B, 1, T, S) or null, dropout generator;
    /// <c>Causal</c> only when there is no past.</param>
    /// <param name="saved">Receives activations for backward; null for inference.</param>
    /// <param name="cache">KV cache for incremental inference: this layer's slots Length..Length+T-1 are written, Length is not
    /// advanced; null for a whole-sequence pass.</param>
    /// <returns>The layer output (B, T, C).</returns>
    /// <exception cref="ArgumentException">Both <paramref name="saved"/> and <paramref name="cache"/> were given, or the cache
    /// was built for a different layout or has no room for T tokens.</exception>
    /// <exception cref="TorchException">A kernel rejected the inputs.</exception>
    public Tensor Forward(Tensor x, Context ctx, Saved? saved, KvCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(ctx);
        if (cache is not null) CheckCache(cache, x, saved);
        using var scope = TensorScope.Begin();
        long bsz = x.Size(0), t = x.Size(1);
        int h = spec.NumHeads, kv = spec.NumKvHeads, d = spec.HeadDim;

        var xn1 = RmsNorm.Forward(x, InputNorm, spec.RmsNormEps, out var rstd1);        // (B, T, C)
        var (q, k, v) = ProjectQkv(xn1, saved, ctx.Dropout);                          // (B, T, h*D), (B, T, kv*D) x2
        var q4 = q.View(bsz, t, h, d);                                                // (B, T, H, D)
        var k4 = k.View(bsz, t, kv, d);                                               // (B, T, KV, D)
        if (QNorm is not null && KNorm is not null)
        {
            if (saved is not null) { saved.QPre = q4; saved.KPre = k4; }
            q4 = RmsNorm.Forward(q4, QNorm, spec.RmsNormEps, out var qr);
            k4 = RmsNorm.Forward(k4, KNorm, spec.RmsNormEps, out var kr);
            if (saved is not null) { saved.QRstd = qr; saved.KRstd = kr; }
        }
        var qh = RotaryEmbedding.Apply(q4.Transpose(1, 2), ctx.Cos, ctx.Sin);        // (B, H, T, D)
        var kh = RotaryEmbedding.Apply(k4.Transpose(1, 2), ctx.Cos, ctx.Sin);        // (B, KV, T, D)
        var vh = v.View(bsz, t, kv, d).Transpose(1, 2);                               // (B, KV, T, D)
        Attention.Result? attn = null;
        Tensor att;                                                                   // (B, T, H*D)
        if (cache is null)
        {
            vh = vh.Contiguous();
            attn = Attention.Forward(qh, RepeatKv(kh), RepeatKv(vh), ctx.Causal, ctx.AttentionMask); // out (B, H, T, D)
            att = attn.Output.Transpose(1, 2).Reshape(bsz, t, h * d);
        }
        else
        {
            var (kAll, vAll) = cache.Write(Index, kh, vh);                           // (B, KV, S, D) views
            att = AttendCached(qh, kAll, vAll, ctx, bsz, t);
        }
        var o = OutputProjection.Forward(att, saved?.O, ctx.Dropout);                 // (B, T, C)
        var x2 = x + o;                                                               // (B, T, C)

        var xn2 = RmsNorm.Forward(x2, PostAttentionNorm, spec.RmsNormEps, out var rstd2); // (B, T, C)
        var (g, u) = ProjectGateUp(xn2, saved, ctx.Dropout);                          // (B, T, I) x2
        var hAct = g.Silu() * u;                                                      // (B, T, I)
        var y = x2 + DownProjection.Forward(hAct, saved?.Down, ctx.Dropout);          // (B, T, C)

        if (saved is not null)
        {
            saved.X = x.Alias(); saved.Rstd1 = rstd1; saved.X2 = x2; saved.Rstd2 = rstd2;
            saved.Qr = qh; saved.Kr = kh; saved.Vr = vh; saved.Attn = attn!; saved.G = g; saved.U = u;
            KeepAll(scope, saved);
        }
        else attn?.Dispose();
        return scope.Keep(y);
    }

    /// <summary>Backward pass; accumulates LoRA gradients (and, when trained, weight gradients) and returns the gradient of the layer input.</summary>
    /// <param name="dy">Gradient of the layer output (B, T, C).</param>
    /// <param name="ctx">The forward context.</param>
    /// <param name="saved">From <see cref="Forward"/>.</param>
    /// <returns>dx (B, T, C).</returns>
    public Tensor Backward(Tensor dy, Context ctx, Saved saved)
    {
        ArgumentNullException.ThrowIfNull(dy);
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(saved);
        using var scope = TensorScope.Begin();
        long bsz = dy.Size(0), t = dy.Size(1);
        int h = spec.NumHeads, kv = spec.NumKvHeads, d = spec.HeadDim;

        // y = x2 + down(silu(g) * u)
        var dh = DownProjection.Backward(dy, saved.Down)!;                            // (B, T, I)
        var dg = Tensor.SiluBackward(dh * saved.U, saved.G);                          // (B, T, I)
        var du = dh * saved.G.Silu();                                                 // (B, T, I)
        var dxn2 = GateUpBackward(dg, du, saved);                                     // (B, T, C)
        var dx2 = dy + RmsNorm.Backward(dxn2, saved.X2, PostAttentionNorm, saved.Rstd2, GradPostAttentionNorm); // (B, T, C)

        // x2 = x + o(attn(...))
        var datt = OutputProjection.Backward(dx2, saved.O)!;                          // (B, T, H*D)
        var dOut = datt.View(bsz, t, h, d).Transpose(1, 2);                           // (B, H, T, D)
        // K and V were kept with KV heads only (H/KV times smaller); the kernel needs them repeated.
        var (dqh, dkh, dvh) = Attention.Backward(dOut, saved.Qr, RepeatKv(saved.Kr), RepeatKv(saved.Vr), saved.Attn, ctx.Causal, ctx.AttentionMask);
        if (kv != h)
        {
            dkh = dkh.View(bsz, kv, spec.KvGroups, t, d).Sum(2);                     // (B, KV, T, D)
            dvh = dvh.View(bsz, kv, spec.KvGroups, t, d).Sum(2);                     // (B, KV, T, D)
        }
        var dq4 = RotaryEmbedding.Backward(dqh, ctx.Cos, ctx.Sin).Transpose(1, 2);   // (B, T, H, D)
        var dk4 = RotaryEmbedding.Backward(dkh, ctx.Cos, ctx.Sin).Transpose(1, 2);   // (B, T, KV, D)
        if (QNorm is not null && KNorm is not null)
        {
            dq4 = RmsNorm.Backward(dq4.Contiguous(), saved.QPre!, QNorm, saved.QRstd!, GradQNorm);
            dk4 = RmsNorm.Backward(dk4.Contiguous(), saved.KPre!, KNorm, saved.KRstd!, GradKNorm);
        }
        var dq = dq4.Reshape(bsz, t, h * d);                                          // (B, T, H*D)
        var dk = dk4.Reshape(bsz, t, kv * d);                                         // (B, T, KV*D)
        var dv = dvh.Transpose(1, 2).Reshape(bsz, t, kv * d);                         // (B, T, KV*D)
        var dxn1 = QkvBackward(dq, dk, dv, saved);                                    // (B, T, C)
        var dx = dx2 + RmsNorm.Backward(dxn1, saved.X, InputNorm, saved.Rstd1, GradInputNorm);      // (B, T, C)
        return scope.Keep(dx);
    }

    // Grouped-query attention: query head h reads key/value head h / (H/KV).
    private Tensor RepeatKv(Tensor x) => spec.NumKvHeads == spec.NumHeads ? x : x.RepeatInterleave(spec.KvGroups, 1);

    /// <summary>Frees the layer's weights.</summary>
    public void Dispose()
    {
        InputNorm.Dispose();
        PostAttentionNorm.Dispose();
        QNorm?.Dispose();
        KNorm?.Dispose();
        foreach (var l in Linears) l.Dispose();
    }
}
