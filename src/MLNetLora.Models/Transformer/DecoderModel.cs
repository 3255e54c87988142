using MLNetLora.LibTorch;
using MLNetLora.Models.Lora;

namespace MLNetLora.Models.Transformer;

/// <summary>
/// A decoder-only language model (Llama, Mistral, Qwen2/3, Phi-3) with frozen base weights, LoRA
/// adapters on chosen linear layers, an optional classification head, and a hand-written backward
/// pass that produces LoRA (and head) gradients plus the gradient of the input embeddings, and every
/// base weight's gradient when full fine-tuning trains them (<see cref="TrainBaseWeights"/>).
/// </summary>
public sealed partial class DecoderModel : IDisposable
{
    private readonly Dictionary<string, LoraAdapter> adapters = new(StringComparer.Ordinal);

    private DecoderModel(DecoderSpec spec, DType dtype, Device device, Tensor embedding, DecoderLayer[] layers,
        Tensor finalNorm, LoraLinear lmHead)
    {
        Spec = spec;
        ComputeDType = dtype;
        Device = device;
        Embedding = embedding;
        Layers = layers;
        FinalNorm = finalNorm;
        LmHead = lmHead;
        Rope = new RotaryEmbedding(spec.InverseFrequencies, spec.RopeAttentionScaling, spec.MaxPositions, dtype, device,
            spec.LongInverseFrequencies, spec.LongRopeThreshold);
    }

    /// <summary>Architecture and sizes.</summary>
    public DecoderSpec Spec { get; }

    /// <summary>dtype of weights and activations (float32/float64 on CPU, bfloat16 on CUDA).</summary>
    public DType ComputeDType { get; }

    /// <summary>Where the model runs.</summary>
    public Device Device { get; }

    /// <summary>Token embeddings (V, C).</summary>
    public Tensor Embedding { get; }

    /// <summary>The decoder layers.</summary>
    public IReadOnlyList<DecoderLayer> Layers { get; }

    /// <summary>Final RMSNorm weight (C).</summary>
    public Tensor FinalNorm { get; }

    /// <summary>The language-model head (shares <see cref="Embedding"/> when tied).</summary>
    public LoraLinear LmHead { get; }

    /// <summary>Rotary position tables.</summary>
    public RotaryEmbedding Rope { get; }

    /// <summary>A sequence-classification head, when one was added.</summary>
    public ClassificationHead? ScoreHead { get; private set; }

    /// <summary>Recompute each layer's forward during backward instead of keeping its activations.</summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>LoRA adapters by PEFT module path (<c>model.layers.0.self_attn.q_proj</c>), in model order.</summary>
    public IReadOnlyDictionary<string, LoraAdapter> Adapters => adapters;

    /// <summary>Every linear module with its PEFT module path.</summary>
    public IEnumerable<LoraLinear> Linears => Layers.SelectMany(l => l.Linears);

    /// <summary>Loads every weight of <paramref name="spec"/> from <paramref name="weights"/>, converted to the compute dtype.</summary>
    /// <exception cref="KeyNotFoundException">A weight is missing.</exception>
    /// <exception cref="InvalidDataException">A weight has the wrong shape.</exception>
    public static DecoderModel Create(DecoderSpec spec, IWeightSource weights, DType dtype, Device device)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(weights);
        long c = spec.HiddenSize, i = spec.IntermediateSize, qw = spec.NumHeads * spec.HeadDim, kvw = spec.NumKvHeads * spec.HeadDim;
        Tensor W(string name, params long[] shape)
        {
            using var raw = weights.Load(name, shape);
            return raw.To(dtype, device).DetachFromScopes();
        }
        LoraLinear Lin(string name, long outF, long inF, bool bias) =>
            new(name, W(name + ".weight", outF, inF), bias ? W(name + ".bias", outF) : null);

        var embedding = W("model.embed_tokens.weight", spec.VocabSize, c);
        var layers = new DecoderLayer[spec.NumLayers];
        for (int l = 0; l < spec.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            LoraLinear[] attn = spec.FusedProjections
                ? [Lin(p + "self_attn.qkv_proj", qw + 2 * kvw, c, false)]
                : [Lin(p + "self_attn.q_proj", qw, c, spec.QkvBias), Lin(p + "self_attn.k_proj", kvw, c, spec.QkvBias),
                   Lin(p + "self_attn.v_proj", kvw, c, spec.QkvBias)];
            LoraLinear[] mlpIn = spec.FusedProjections
                ? [Lin(p + "mlp.gate_up_proj", 2 * i, c, spec.MlpBias)]
                : [Lin(p + "mlp.gate_proj", i, c, spec.MlpBias), Lin(p + "mlp.up_proj", i, c, spec.MlpBias)];
            layers[l] = new DecoderLayer(spec, l, W(p + "input_layernorm.weight", c), W(p + "post_attention_layernorm.weight", c),
                attn, Lin(p + "self_attn.o_proj", c, qw, spec.OutputBias), mlpIn, Lin(p + "mlp.down_proj", c, i, spec.MlpBias),
                spec.QkNorm ? W(p + "self_attn.q_norm.weight", spec.HeadDim) : null,
                spec.QkNorm ? W(p + "self_attn.k_norm.weight", spec.HeadDim) : null);
        }
        var finalNorm = W("model.norm.weight", c);
        var head = spec.TiedEmbeddings || !weights.Contains("lm_head.weight")
            ? new LoraLinear("lm_head", embedding, null)
            : new LoraLinear("lm_head", W("lm_head.weight", spec.VocabSize, c), null);
        return new DecoderModel(spec, dtype, device, embedding, layers, finalNorm, head);
    }

    /// <summary>
    /// Puts LoRA adapters on every linear layer that <paramref name="settings"/> targets, initialised
    /// as PEFT does (A Kaiming-uniform from <paramref name="generator"/>, B zero; with
    /// <see cref="LoraSettings.UseDora"/> the magnitude set to the base weight's row norms).
    /// </summary>
    /// <exception cref="ArgumentException">The settings are invalid or target nothing in this model.</exception>
    public void AddLora(LoraSettings settings, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(generator);
        settings.Validate();
        var adapterType = ComputeDType == DType.Float64 ? DType.Float64 : DType.Float32;
        foreach (var lin in Linears)
        {
            if (!settings.Targets(lin.Name)) continue;
            var adapter = new LoraAdapter(lin.Name, lin.InFeatures, lin.OutFeatures, settings.RankFor(lin.Name), settings.ScaleFor(lin.Name), adapterType, Device, settings.UseDora);
            adapter.ResetParameters(generator);
            if (settings.UseDora)
            {
                // A QLoRA base is decoded for this once: PEFT takes DoRA's initial magnitude from the dequantized weight too.
                using var w = lin.QuantizedWeight is null ? lin.Weight.Alias() : lin.DequantizeWeight();
                adapter.InitMagnitude(w);
            }
            lin.Adapter = adapter;
            lin.Dropout = settings.Dropout;
            adapters[lin.Name] = adapter;
        }
        if (adapters.Count == 0)
            throw new ArgumentException($"No linear layer matches the LoRA TargetModules [{string.Join(", ", settings.TargetModules)}]; " +
                $"this model has {string.Join(", ", Linears.Select(l => ModuleNames.Leaf(l.Name)).Distinct())}.", nameof(settings));
    }

    /// <summary>Removes and frees every adapter.</summary>
    public void RemoveLora()
    {
        foreach (var lin in Linears) lin.Adapter = null;
        foreach (var a in adapters.Values) a.Dispose();
        adapters.Clear();
    }

    /// <summary>Adds a trainable classification head over <paramref name="numLabels"/> classes (weights from <paramref name="generator"/>).</summary>
    public ClassificationHead AddClassificationHead(int numLabels, Generator generator, Tensor? initialWeight = null)
    {
        ScoreHead?.Dispose();
        ScoreHead = new ClassificationHead(Spec.HiddenSize, numLabels, ComputeDType == DType.Float64 ? DType.Float64 : DType.Float32, Device);
        if (initialWeight is not null) ScoreHead.Weight.CopyFrom(initialWeight);
        else ScoreHead.ResetParameters(generator);
        return ScoreHead;
    }

    /// <summary>Sets every trainable gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var a in adapters.Values) a.ZeroGrad();
        ScoreHead?.ZeroGrad();
        ZeroWeightGrads();
    }

    /// <summary>Folds every adapter into its base weight (after which the model has no adapters).</summary>
    public void MergeAdapters()
    {
        foreach (var lin in Linears) lin.Merge();
        foreach (var a in adapters.Values) a.Dispose();
        adapters.Clear();
    }

    /// <summary>Frees every weight, adapter and table.</summary>
    public void Dispose()
    {
        foreach (var l in Layers) l.Dispose();
        foreach (var a in adapters.Values) a.Dispose();
        DisposeWeightGrads();
        Embedding.Dispose();
        FinalNorm.Dispose();
        LmHead.Dispose();
        Rope.Dispose();
        ScoreHead?.Dispose();
    }
}
