using System.Globalization;
using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Transformer;
using static MLNetLora.Tests.TestUtil;

namespace MLNetLora.Tests.Models;

/// <summary>
/// Tiny checkpoints in the Hugging Face layout, written by the test, for every supported family.
/// Where two families compute the same function (Mistral and Llama; Phi-3's fused projections and
/// Llama's separate ones; Qwen2 with zero biases and tied Llama), their logits must agree.
/// </summary>
public class ArchitectureCheckpointTests
{
    private static readonly long[] Ids = [1, 5, 9, 2, 30, 7, 7, 3, 12, 0, 36, 4];   // (2, 6)

    private static string Config(string modelType, bool tied = false, string extra = "") => string.Create(CultureInfo.InvariantCulture, $$"""
        { "model_type": "{{modelType}}", "architectures": ["X"], "hidden_size": 16, "intermediate_size": 24,
          "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 4, "vocab_size": 37,
          "rms_norm_eps": 1e-5, "max_position_embeddings": 64, "rope_theta": 10000.0, "tie_word_embeddings": {{(tied ? "true" : "false")}},
          "hidden_act": "silu", "torch_dtype": "float32" {{extra}} }
        """);

    private static string WriteFolder(string config, IEnumerable<KeyValuePair<string, Tensor>> weights)
    {
        string dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "config.json"), config);
        SafeTensorsWriter.Write(Path.Combine(dir, "model.safetensors"), weights);
        return dir;
    }

    private static Dictionary<string, Tensor> LlamaWeights(bool tied = false)
    {
        var spec = TinyModels.Spec(Architecture.Llama) with { TiedEmbeddings = tied };
        return TinyModels.Weights(spec, seed: 21, DType.Float32);
    }

    private static double[] Logits(string dir, DType? dtype = null)
    {
        using var pm = PretrainedModel.Load(dir, Device.Cpu, dtype);
        using var ids = Tensor.FromArray(Ids, 2, 6);
        using var logits = pm.Model.ComputeLogits(ids);
        Assert.That(logits.Shape, Is.EqualTo(new long[] { 2, 6, 37 }));
        return logits.ToArray<double>();
    }

    [Test]
    public void Mistral_SameWeights_SameLogitsAsLlama()
    {
        var w = LlamaWeights();
        var llama = Logits(WriteFolder(Config("llama"), w));
        var mistral = Logits(WriteFolder(Config("mistral"), w));
        AssertClose(mistral, llama, 1e-6);
        Assert.That(llama.All(double.IsFinite), Is.True);
    }

    [Test]
    public void Phi3_FusedProjections_EqualLlamaSplitProjections()
    {
        var w = LlamaWeights();
        var phi = new Dictionary<string, Tensor>();
        foreach (var (k, v) in w)
        {
            if (k.Contains("q_proj") || k.Contains("k_proj") || k.Contains("v_proj") || k.Contains("gate_proj") || k.Contains("up_proj")) continue;
            phi[k] = v;
        }
        for (int l = 0; l < 2; l++)
        {
            string p = $"model.layers.{l}.";
            phi[p + "self_attn.qkv_proj.weight"] = Tensor.Cat([w[p + "self_attn.q_proj.weight"], w[p + "self_attn.k_proj.weight"], w[p + "self_attn.v_proj.weight"]], 0);
            phi[p + "mlp.gate_up_proj.weight"] = Tensor.Cat([w[p + "mlp.gate_proj.weight"], w[p + "mlp.up_proj.weight"]], 0);
        }
        var llama = Logits(WriteFolder(Config("llama"), w));
        var phi3 = Logits(WriteFolder(Config("phi3"), phi));
        AssertClose(phi3, llama, 1e-5); // float32: the fused matmul sums in another order
    }

    [Test]
    public void Qwen2_ZeroBiases_EqualTiedLlama_NonZeroBiasesDiffer()
    {
        var w = LlamaWeights(tied: true);
        var qwen = new Dictionary<string, Tensor>(w);
        for (int l = 0; l < 2; l++)
            foreach (var (proj, n) in new[] { ("q_proj", 16L), ("k_proj", 8L), ("v_proj", 8L) })
                qwen[$"model.layers.{l}.self_attn.{proj}.bias"] = Tensor.Zeros([n]);
        var llama = Logits(WriteFolder(Config("llama", tied: true), w));
        AssertClose(Logits(WriteFolder(Config("qwen2", tied: true), qwen)), llama, 1e-6, "zero biases");
        qwen["model.layers.0.self_attn.v_proj.bias"] = Tensor.Ones([8]);
        var biased = Logits(WriteFolder(Config("qwen2", tied: true), qwen));
        Assert.That(biased.Zip(llama, (a, b) => Math.Abs(a - b)).Max(), Is.GreaterThan(1e-3), "biases are applied");
    }

    [Test]
    public void Qwen3_LoadsQkNorm_AndUnitNormsAreNotIdentity()
    {
        var w = LlamaWeights();
        var q3 = new Dictionary<string, Tensor>(w);
        for (int l = 0; l < 2; l++)
        {
            q3[$"model.layers.{l}.self_attn.q_norm.weight"] = Tensor.Ones([4]);
            q3[$"model.layers.{l}.self_attn.k_norm.weight"] = Tensor.Ones([4]);
        }
        string dir = WriteFolder(Config("qwen3"), q3);
        using (var pm = PretrainedModel.Load(dir))
        {
            Assert.That(pm.Model.Spec.QkNorm, Is.True);
            Assert.That(pm.Model.Layers[1].QNorm, Is.Not.Null);
        }
        var logits = Logits(dir);
        Assert.That(logits.All(double.IsFinite), Is.True);
        // q/k RMSNorm rescales each head, so the result must differ from plain Llama.
        Assert.That(logits.Zip(Logits(WriteFolder(Config("llama"), w)), (a, b) => Math.Abs(a - b)).Max(), Is.GreaterThan(1e-4));
    }

    [TestCase(DType.BFloat16, "bfloat16")]
    [TestCase(DType.Float16, "float16")]
    public void HalfPrecisionCheckpoint_LoadsAndComputesInFloat32(DType stored, string name)
    {
        var w = LlamaWeights();
        var half = w.ToDictionary(kv => kv.Key, kv => kv.Value.To(stored));
        var rounded = half.ToDictionary(kv => kv.Key, kv => kv.Value.To(DType.Float32));
        string dir = WriteFolder(Config("llama").Replace("\"float32\"", $"\"{name}\""), half);
        using (var pm = PretrainedModel.Load(dir))
        {
            Assert.That(pm.Model.ComputeDType, Is.EqualTo(DType.Float32));
            Assert.That(pm.Config.WeightDType, Is.EqualTo(stored));
        }
        AssertClose(Logits(dir), Logits(WriteFolder(Config("llama"), rounded)), 1e-6);
    }

    [Test]
    public void MissingOrMisshapenTensor_NamesTensorAndShapes()
    {
        var w = LlamaWeights();
        var missing = new Dictionary<string, Tensor>(w);
        missing.Remove("model.layers.1.mlp.down_proj.weight");
        var ex = Assert.Throws<CheckpointException>(() => PretrainedModel.Load(WriteFolder(Config("llama"), missing)).Dispose());
        Assert.That(ex!.Message, Does.Contain("model.layers.1.mlp.down_proj.weight"));
        var wrong = new Dictionary<string, Tensor>(w) { ["model.norm.weight"] = Tensor.Ones([15]) };
        ex = Assert.Throws<CheckpointException>(() => PretrainedModel.Load(WriteFolder(Config("llama"), wrong)).Dispose());
        Assert.That(ex!.Message, Does.Contain("model.norm.weight").And.Contain("[15]").And.Contain("[16]"));
        var unknown = Assert.Throws<CheckpointException>(() => PretrainedModel.Load(WriteFolder(Config("gpt2"), w)).Dispose());
        Assert.That(unknown!.Message, Does.Contain("gpt2").And.Contain("llama"));
    }
}
