using MLNetLora.LibTorch;
using MLNetLora.Models.Lora;
using MLNetLora.Models.Transformer;

namespace MLNetLora.Tests.Models;

/// <summary>Random tiny models of each architecture, built in memory, for gradient checks.</summary>
internal static class TinyModels
{
    public static DecoderSpec Spec(Architecture arch, int vocab = 37, int layers = 2) => new(
        arch, HiddenSize: 16, IntermediateSize: 24, NumLayers: layers, NumHeads: 4,
        NumKvHeads: arch == Architecture.Phi3 ? 4 : 2, HeadDim: arch == Architecture.Qwen3 ? 6 : 4, VocabSize: vocab,
        RmsNormEps: 1e-5, TiedEmbeddings: arch == Architecture.Qwen2, QkvBias: arch == Architecture.Qwen2,
        QkNorm: arch == Architecture.Qwen3, FusedProjections: arch == Architecture.Phi3,
        InverseFrequencies: RopeInv(arch == Architecture.Phi3 ? 2 : (arch == Architecture.Qwen3 ? 6 : 4)),
        RopeAttentionScaling: 1.0, MaxPositions: 64);

    // Phi-3 gets a partial rotary dimension (2 of 4) to exercise the pass-through half.
    private static double[] RopeInv(int rotaryDim) =>
        Enumerable.Range(0, rotaryDim / 2).Select(i => 1.0 / Math.Pow(10000, 2.0 * i / rotaryDim)).ToArray();

    /// <summary>Random weights in the Hugging Face layout for <paramref name="spec"/>.</summary>
    public static Dictionary<string, Tensor> Weights(DecoderSpec spec, ulong seed, DType dtype = DType.Float64)
    {
        var g = new Generator(seed);
        var w = new Dictionary<string, Tensor>();
        void Add(string name, double std, double mean, params long[] shape)
        {
            using var r = Tensor.Randn(shape, g, DType.Float64);
            using var s = r * std;
            using var m = s + mean;
            w[name] = m.To(dtype).DetachFromScopes();
        }
        long c = spec.HiddenSize, i = spec.IntermediateSize, qw = spec.NumHeads * spec.HeadDim, kvw = spec.NumKvHeads * spec.HeadDim;
        Add("model.embed_tokens.weight", 0.5, 0, spec.VocabSize, c);
        for (int l = 0; l < spec.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            Add(p + "input_layernorm.weight", 0.1, 1, c);
            Add(p + "post_attention_layernorm.weight", 0.1, 1, c);
            if (spec.FusedProjections)
            {
                Add(p + "self_attn.qkv_proj.weight", 0.3, 0, qw + 2 * kvw, c);
                Add(p + "mlp.gate_up_proj.weight", 0.3, 0, 2 * i, c);
            }
            else
            {
                Add(p + "self_attn.q_proj.weight", 0.3, 0, qw, c);
                Add(p + "self_attn.k_proj.weight", 0.3, 0, kvw, c);
                Add(p + "self_attn.v_proj.weight", 0.3, 0, kvw, c);
                Add(p + "mlp.gate_proj.weight", 0.3, 0, i, c);
                Add(p + "mlp.up_proj.weight", 0.3, 0, i, c);
                if (spec.QkvBias)
                {
                    Add(p + "self_attn.q_proj.bias", 0.1, 0, qw);
                    Add(p + "self_attn.k_proj.bias", 0.1, 0, kvw);
                    Add(p + "self_attn.v_proj.bias", 0.1, 0, kvw);
                }
            }
            if (spec.QkNorm)
            {
                Add(p + "self_attn.q_norm.weight", 0.1, 1, spec.HeadDim);
                Add(p + "self_attn.k_norm.weight", 0.1, 1, spec.HeadDim);
            }
            Add(p + "self_attn.o_proj.weight", 0.3, 0, c, qw);
            Add(p + "mlp.down_proj.weight", 0.3, 0, c, i);
        }
        Add("model.norm.weight", 0.1, 1, c);
        if (!spec.TiedEmbeddings) Add("lm_head.weight", 0.3, 0, spec.VocabSize, c);
        return w;
    }

    /// <summary>A float64 model without adapters (for full fine-tuning).</summary>
    public static DecoderModel CreateBase(Architecture arch, ulong seed = 1, int layers = 2)
    {
        var spec = Spec(arch, layers: layers);
        var weights = Weights(spec, seed);
        var model = DecoderModel.Create(spec, new DictionaryWeightSource(weights), DType.Float64, Device.Cpu);
        foreach (var t in weights.Values) t.Dispose();
        return model;
    }

    /// <summary>A float64 model with LoRA on every linear layer and B made non-zero so every path carries gradient.</summary>
    public static DecoderModel Create(Architecture arch, ulong seed = 1, double dropout = 0, int layers = 2)
    {
        var spec = Spec(arch, layers: layers);
        var weights = Weights(spec, seed);
        var model = DecoderModel.Create(spec, new DictionaryWeightSource(weights), DType.Float64, Device.Cpu);
        foreach (var t in weights.Values) t.Dispose();
        var g = new Generator(seed + 100);
        model.AddLora(new LoraSettings { Rank = 2, Alpha = 4, Dropout = dropout, TargetModules = LoraSettings.AllLinear }, g);
        foreach (var a in model.Adapters.Values)
        {
            using var b = Tensor.Randn(a.B.Shape, g, DType.Float64);
            using var bs = b * 0.2;
            a.B.CopyFrom(bs);
        }
        return model;
    }
}
