using MLNetLora.LibTorch;

namespace MLNetLora.Models.Transformer;

public sealed partial class DecoderModel
{
    /// <summary>
    /// One forward pass over a batch, holding what backward needs. Per layer it keeps the layer's
    /// activations (norm statistics, q/k/v after rope, attention output and log-sum-exp, MLP
    /// pre-activations, LoRA inputs) — or, with gradient checkpointing, only the layer input and the
    /// dropout generator state, and backward recomputes the layer.
    /// </summary>
    public sealed class ForwardPass : IDisposable
    {
        internal DecoderLayer.Context Context = null!;

        // Layers with a sliding window shorter than the sequence attend through their own mask.
        internal Dictionary<int, DecoderLayer.Context> WindowContexts = [];
        internal IReadOnlyList<int?> Windows = [];

        internal DecoderLayer.Context ContextOf(int layer) =>
            layer < Windows.Count && Windows[layer] is int w && WindowContexts.TryGetValue(w, out var c) ? c : Context;
        internal DecoderLayer.Saved?[] Layers = [];
        internal Tensor[] LayerInputs = [];
        internal GeneratorState?[] DropoutStates = [];
        internal Tensor FinalInput = null!, FinalRstd = null!;
        internal Tensor? InputIds;                                      // (B, T) on the model's device, for the embedding gradient
        private readonly List<Tensor> owned = [];

        /// <summary>Final normalised hidden states (B, T, C).</summary>
        public Tensor Hidden { get; internal set; } = null!;

        internal Tensor Own(Tensor t) { owned.Add(t); return t; }

        /// <summary>Frees every kept activation.</summary>
        public void Dispose()
        {
            foreach (var s in Layers)
                if (s is not null) foreach (var t in s.Tensors()) t.Dispose();
            foreach (var t in owned) t.Dispose();
        }
    }

    /// <summary>Runs the model up to the final norm.</summary>
    /// <param name="inputIds">Token ids (B, T), int64.</param>
    /// <param name="attentionMask">1 for real tokens, 0 for padding (B, T); null when there is no padding.</param>
    /// <param name="positionIds">Positions (B, T); 0..T-1 when null (as transformers' forward does).</param>
    /// <param name="training">Keep activations for <see cref="Backward"/>.</param>
    /// <param name="dropout">Generator for LoRA dropout masks; null disables dropout.</param>
    /// <exception cref="ArgumentException">The sequence is longer than the position tables.</exception>
    public ForwardPass Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null,
        bool training = false, Generator? dropout = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        long bsz = inputIds.Size(0), t = inputIds.Size(1);
        if (t > Rope.MaxPositions)
            throw new ArgumentException($"The sequence has {t} tokens but the model supports {Rope.MaxPositions} positions; truncate it or lower MaxLength.", nameof(inputIds));
        var pass = new ForwardPass();
        using var scope = TensorScope.Begin();
        var ids = inputIds.Device == Device ? inputIds : inputIds.To(Device);
        var pos = positionIds ?? Tensor.Arange(t, DType.Int64, Device).Unsqueeze(0).Expand(bsz, t);
        var (cos, sin) = Rope.Lookup(pos.Device == Device ? pos : pos.To(Device));     // (B, 1, T, R)
        var mask = BuildAttentionMask(attentionMask, bsz, t);                          // (B, 1, T, T) or null
        pass.Context = new DecoderLayer.Context(pass.Own(scope.Keep(cos)), pass.Own(scope.Keep(sin)),
            mask is null ? null : pass.Own(scope.Keep(mask)), mask is null, dropout);
        pass.Windows = Spec.LayerWindows;
        foreach (int w in Spec.LayerWindows.OfType<int>().Distinct().Where(w => t > w))
        {
            var windowed = BuildAttentionMask(attentionMask, bsz, t, w)!;                  // (B, 1, T, T)
            pass.WindowContexts[w] = pass.Context with { AttentionMask = pass.Own(scope.Keep(windowed)), Causal = false };
        }

        var x = Embedding.Embedding(ids);                                              // (B, T, C)
        pass.Layers = new DecoderLayer.Saved?[Layers.Count];
        pass.LayerInputs = new Tensor[Layers.Count];
        pass.DropoutStates = new GeneratorState?[Layers.Count];
        for (int l = 0; l < Layers.Count; l++)
        {
            bool keepAll = training && !GradientCheckpointing;
            if (training && GradientCheckpointing)
            {
                pass.LayerInputs[l] = pass.Own(scope.Keep(x.Alias()));
                pass.DropoutStates[l] = dropout?.SaveState();
            }
            var saved = keepAll ? new DecoderLayer.Saved() : null;
            using (var layerScope = TensorScope.Begin())
            {
                var y = Layers[l].Forward(x, pass.ContextOf(l), saved);
                if (saved is not null) foreach (var s in saved.Tensors()) scope.Keep(layerScope.Keep(s));
                x = layerScope.Keep(y); // into this method's scope: freed at its end unless kept below

            }
            pass.Layers[l] = saved;
        }
        var hidden = RmsNorm.Forward(x, FinalNorm, Spec.RmsNormEps, out var rstd);    // (B, T, C)
        if (training)
        {
            pass.FinalInput = pass.Own(scope.Keep(x));
            pass.FinalRstd = pass.Own(scope.Keep(rstd));
            if (GradEmbedding is not null) pass.InputIds = pass.Own(scope.Keep(ids.Alias()));
        }
        pass.Hidden = pass.Own(scope.Keep(hidden));
        foreach (var s in pass.Layers)
            if (s is not null) foreach (var k in s.Tensors()) scope.Keep(k);
        return pass;
    }

    /// <summary>
    /// Backward from the gradient of the final hidden states: accumulates LoRA gradients (and the base
    /// weights' when they are trained) and returns the gradient of the input embeddings (B, T, C).
    /// </summary>
    /// <exception cref="InvalidOperationException">The pass was not run with <c>training: true</c>.</exception>
    public Tensor Backward(ForwardPass pass, Tensor dHidden)
    {
        ArgumentNullException.ThrowIfNull(pass);
        ArgumentNullException.ThrowIfNull(dHidden);
        if (pass.FinalInput is null) throw new InvalidOperationException("Backward needs a forward pass run with training: true.");
        using var scope = TensorScope.Begin();
        var dx = RmsNorm.Backward(dHidden, pass.FinalInput, FinalNorm, pass.FinalRstd, GradFinalNorm); // (B, T, C)
        for (int l = Layers.Count - 1; l >= 0; l--)
        {
            using var layerScope = TensorScope.Begin();
            var saved = pass.Layers[l];
            bool recomputed = saved is null;
            if (recomputed)
            {
                // Gradient checkpointing: rerun the layer with the same input and dropout draws.
                saved = new DecoderLayer.Saved();
                var ctx = pass.ContextOf(l);
                if (pass.DropoutStates[l] is GeneratorState st)
                {
                    var g = new Generator(0);
                    g.RestoreState(st);
                    ctx = ctx with { Dropout = g };
                }
                Layers[l].Forward(pass.LayerInputs[l], ctx, saved);
            }
            dx = layerScope.Keep(Layers[l].Backward(dx, pass.ContextOf(l), saved!));
            if (recomputed) foreach (var t in saved!.Tensors()) t.Dispose();
        }
        if (pass.InputIds is not null) AccumulateEmbeddingGrad(pass.InputIds, dx);
        return scope.Keep(dx);
    }

    /// <summary>Logits (B, T, V) from hidden states.</summary>
    public Tensor Logits(Tensor hidden) => LmHead.Forward(hidden);

    /// <summary>Logits (B, T, V) for a batch, without keeping activations.</summary>
    public Tensor ComputeLogits(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null)
    {
        using var pass = Forward(inputIds, attentionMask, positionIds);
        return Logits(pass.Hidden);
    }

    // Additive mask: 0 where a query may attend, -inf elsewhere (future keys and padded keys). A
    // padded query still sees itself, so no softmax row is all -inf (which would give NaN). Built
    // with tensor ops on the model's device: a host loop over B·T·T entries would cost more than a
    // small model's whole step at long sequence lengths.
    // A sliding window (Mistral, Phi-3, Qwen's sliding layers) also blocks keys w or more tokens back:
    // query i sees key j when 0 <= i - j < w, as transformers' sliding-window mask.
    private Tensor? BuildAttentionMask(Tensor? attentionMask, long bsz, long t, int? window = null)
    {
        if (attentionMask is null && window is null) return null;
        using var scope = TensorScope.Begin();
        var m = attentionMask is null ? null : attentionMask.Device == Device ? attentionMask : attentionMask.To(Device);
        var padded = m?.Eq(0);                                                      // (B, T)
        if (window is null && !padded!.Any().Item<bool>()) return null;
        var pos = Tensor.Arange(t, DType.Int64, Device);
        var rows = pos.Unsqueeze(1);                                                // (T, 1) query i
        var cols = pos.Unsqueeze(0);                                                // (1, T) key j
        var future = rows.Lt(cols);                                                 // (T, T) j > i
        if (window is int w)
        {
            var posF = Tensor.Arange(t, DType.Float32, Device);                     // (T) exact integers up to 2^24
            future = future.LogicalOr((posF.Unsqueeze(1) - posF.Unsqueeze(0)).Gt(w - 0.5));   // (T, T) j <= i - w
        }
        var notSelf = rows.Eq(cols).LogicalNot();                                   // (T, T)
        var blocked = padded is null
            ? future.View(1, 1, t, t).Expand(bsz, 1, t, t)
            : future.LogicalOr(padded.View(bsz, 1, 1, t).LogicalAnd(notSelf));      // (B, 1, T, T)
        var additive = Tensor.Zeros([bsz, 1, t, t], ComputeDType, Device).MaskedFill(blocked, double.NegativeInfinity);
        return scope.Keep(additive);
    }
}
