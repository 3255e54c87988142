using MLNetLora.LibTorch;
using MLNetLora.Models.Transformer;

namespace MLNetLora.Tests.Models;

/// <summary>Full fine-tuning: every base weight's hand-written gradient against central finite differences (float64).</summary>
public class FullTuningGradientTests
{
    // The LoRA gradient tests' batch: (2, 6), row 1 right-padded, some labels ignored.
    private static readonly long[] Ids = ModelGradientTests.Ids, Mask = ModelGradientTests.Mask, Labels = ModelGradientTests.Labels;

    [TestCase(Architecture.Llama)]   // untied LM head
    [TestCase(Architecture.Qwen2)]   // q/k/v biases, tied embeddings (one gradient from both uses)
    [TestCase(Architecture.Qwen3)]   // per-head q/k norms
    [TestCase(Architecture.Phi3)]    // fused qkv and gate_up
    public void CausalLmStep_EveryBaseWeight_MatchesFiniteDifferences(Architecture arch)
    {
        using var model = TinyModels.CreateBase(arch, seed: 11);
        model.TrainBaseWeights(new FullTuningSettings());
        using var ids = Tensor.FromArray(Ids, 2, 6);
        using var mask = Tensor.FromArray(Mask, 2, 6);
        model.ZeroGrad();
        model.CausalLmStep(ids, Labels, mask).DEmbeddings!.Dispose();
        double Loss() => model.CausalLmStep(ids, Labels, mask, backward: false).Loss;
        ulong seed = 1;
        foreach (var w in model.TrainableWeights)
        {
            // Embedding rows of tokens in the batch carry gradient; elsewhere only an untied row would be 0 = 0.
            var indices = w.Kind == WeightKind.Embedding ? [3 * 16 + 1, 9 * 16 + 5, 2 * 16 + 7, 30 * 16 + 2] : GradCheck.Sample(w.Value.NumEl, 3, seed++);
            GradCheck.AssertMatches(w.Value, w.Grad, Loss, indices, w.Name);
        }
    }

    [Test]
    public void CausalLmStep_LlamaFixture_EveryBaseWeightMatchesFiniteDifferences()
    {
        // The real Hugging Face checkpoint (hidden 64, 2 layers, GQA 4/2, vocab 2048, untied), in float64.
        using var pretrained = MLNetLora.Models.Hub.PretrainedModel.Load(TestPaths.Fixture("llama"), dtype: DType.Float64);
        var model = pretrained.Model;
        model.TrainBaseWeights(new FullTuningSettings());
        using var ids = Tensor.FromArray(new long[] { 5, 9, 100, 7, 3, 1500, 42, 8, 17, 230, 11, 64 }, 2, 6);
        long[] labels = [5, 9, 100, 7, 3, 1500, 42, 8, 17, 230, 11, 64];
        model.ZeroGrad();
        model.CausalLmStep(ids, labels).DEmbeddings!.Dispose();
        double Loss() => model.CausalLmStep(ids, labels, backward: false).Loss;
        ulong seed = 40;
        foreach (var w in model.TrainableWeights)
        {
            var indices = w.Kind == WeightKind.Embedding ? [100 * 64 + 3, 1500 * 64 + 60] : GradCheck.Sample(w.Value.NumEl, 2, seed++);
            GradCheck.AssertMatches(w.Value, w.Grad, Loss, indices, w.Name);
        }
        Assert.That(model.TrainableWeights.Select(w => w.Name), Has.Member("lm_head.weight").And.Member("model.embed_tokens.weight"));
    }

    [Test]
    public void TrainBaseWeights_TiedHead_ListsTheTableOnceAndSharesItsGradient()
    {
        using var model = TinyModels.CreateBase(Architecture.Qwen2);
        model.TrainBaseWeights(new FullTuningSettings());
        Assert.That(model.TrainableWeights.Select(w => w.Name), Has.None.EqualTo("lm_head.weight"));
        Assert.That(model.TrainableWeights.Count(w => w.Kind == WeightKind.Embedding), Is.EqualTo(1));
        Assert.That(model.LmHead.GradWeight, Is.SameAs(model.GradEmbedding));
        long all = model.NamedWeights().Sum(kv => kv.Value.NumEl);
        Assert.That(model.TrainableWeightCount, Is.EqualTo(all), "every named weight is trained, each once");
    }

    [Test]
    public void TrainBaseWeights_FreezeEmbeddingsAndFirstLayer_LeavesThemWithoutGradients()
    {
        using var model = TinyModels.CreateBase(Architecture.Llama);
        model.TrainBaseWeights(new FullTuningSettings { FreezeEmbeddings = true, FreezeLayers = 1 });
        var names = model.TrainableWeights.Select(w => w.Name).ToList();
        Assert.That(names, Has.None.StartsWith("model.layers.0.").And.None.EqualTo("model.embed_tokens.weight"));
        Assert.That(names, Has.Some.StartsWith("model.layers.1.").And.Some.EqualTo("lm_head.weight").And.Some.EqualTo("model.norm.weight"));
        Assert.That(model.Layers[0].OutputProjection.GradWeight, Is.Null);
        using var ids = Tensor.FromArray(Ids, 2, 6);
        model.CausalLmStep(ids, Labels).DEmbeddings!.Dispose();
        var down = model.TrainableWeights.Single(w => w.Name == "model.layers.1.mlp.down_proj.weight");
        using var norm = down.Grad.Abs().Sum();
        Assert.That(norm.Item<double>(), Is.GreaterThan(0));
    }

    [Test]
    public void NoDecay_NormsAndBiasesOnly()
    {
        using var model = TinyModels.CreateBase(Architecture.Qwen2);
        model.TrainBaseWeights(new FullTuningSettings());
        foreach (var w in model.TrainableWeights)
            Assert.That(w.NoDecay, Is.EqualTo(w.Name.EndsWith(".bias", StringComparison.Ordinal) || w.Name.EndsWith("norm.weight", StringComparison.Ordinal)), w.Name);
    }

    [Test]
    public void TrainBaseWeights_WithAdapters_Throws()
    {
        using var model = TinyModels.Create(Architecture.Llama);
        Assert.That(() => model.TrainBaseWeights(new FullTuningSettings()), Throws.InvalidOperationException.With.Message.Contains("RemoveLora"));
    }

    [Test]
    public void GradientCheckpointing_GivesIdenticalWeightGradients()
    {
        using var model = TinyModels.CreateBase(Architecture.Qwen3, seed: 4);
        model.TrainBaseWeights(new FullTuningSettings());
        using var ids = Tensor.FromArray(Ids, 2, 6);
        using var mask = Tensor.FromArray(Mask, 2, 6);
        double[] Grads()
        {
            model.ZeroGrad();
            model.CausalLmStep(ids, Labels, mask).DEmbeddings!.Dispose();
            return model.TrainableWeights.SelectMany(w => w.Grad.ToArray<double>()).ToArray();
        }
        var plain = Grads();
        model.GradientCheckpointing = true;
        Assert.That(Grads(), Is.EqualTo(plain).Within(1e-12));
    }
}
