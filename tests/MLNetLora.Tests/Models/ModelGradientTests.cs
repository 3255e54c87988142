using MLNetLora.LibTorch;
using MLNetLora.Models.Transformer;

namespace MLNetLora.Tests.Models;

public class ModelGradientTests
{
    internal static readonly long[] Ids = [3, 7, 1, 9, 4, 11, 2, 2, 5, 8, 13, 6];           // (2, 6)
    internal static readonly long[] Mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0];            // row 1 right-padded
    internal static readonly long[] Labels = [3, 7, 1, 9, 4, 11, -100, 2, 5, 8, -100, -100];

    [TestCase(Architecture.Llama)]
    [TestCase(Architecture.Qwen2)]
    [TestCase(Architecture.Qwen3)]
    [TestCase(Architecture.Phi3)]
    public void CausalLmStep_LoraOnAllLinear_MatchesFiniteDifferences(Architecture arch)
    {
        using var model = TinyModels.Create(arch, seed: 5, dropout: 0.2);
        using var ids = Tensor.FromArray(Ids, 2, 6);
        using var mask = Tensor.FromArray(Mask, 2, 6);
        model.ZeroGrad();
        var r = model.CausalLmStep(ids, Labels, mask, backward: true, dropout: new Generator(77));
        using var dEmb = r.DEmbeddings!;
        double Loss() => StepLossWithDropout(model, ids, mask);
        Assert.That(r.Targets, Is.EqualTo(8), "5 next-token targets in row 0, 3 in the padded row 1");
        foreach (var a in model.Adapters.Values)
        {
            GradCheck.AssertMatches(a.A, a.GradA, Loss, GradCheck.Sample(a.A.NumEl, 2, 4), a.Name + ".A");
            GradCheck.AssertMatches(a.B, a.GradB, Loss, GradCheck.Sample(a.B.NumEl, 2, 5), a.Name + ".B");
        }
        // The input-embedding gradient, through the table: d/dE[tok] sums dEmb over the token's positions.
        // With tied embeddings the table is also the LM head, so a finite difference would mix both roles.
        if (model.Spec.TiedEmbeddings) return;
        using var ids1 = Tensor.FromArray(Ids);
        using var dTable = Tensor.EmbeddingBackward(dEmb.Reshape(12, 16), ids1, model.Spec.VocabSize);
        GradCheck.AssertMatches(model.Embedding, dTable, Loss, [3 * 16 + 1, 9 * 16 + 5, 2 * 16 + 7], "dEmbedding");
    }

    // Forward-only loss with the same dropout draws as the analytic step.
    private static double StepLossWithDropout(DecoderModel model, Tensor ids, Tensor mask) =>
        model.CausalLmStep(ids, Labels, mask, backward: false, dropout: new Generator(77)).Loss;

    [Test]
    public void ChunkedLmHeadLoss_EqualsUnchunked()
    {
        using var model = TinyModels.Create(Architecture.Llama, seed: 7);
        using var ids = Tensor.FromArray(Ids, 2, 6);
        using var mask = Tensor.FromArray(Mask, 2, 6);
        double[] Run(long chunk)
        {
            model.LogitChunkElements = chunk;
            model.ZeroGrad();
            var r = model.CausalLmStep(ids, Labels, mask);
            using var d = r.DEmbeddings!;
            return [r.Loss, .. d.ToArray<double>(), .. model.Adapters.Values.SelectMany(a => a.GradA.ToArray<double>().Concat(a.GradB.ToArray<double>()))];
        }
        var whole = Run(1L << 24);
        var chunked = Run(model.Spec.VocabSize * 5);   // 5 rows per chunk: 12 rows → 3 chunks, the last one short
        Assert.That(chunked, Is.EqualTo(whole).Within(1e-12));
    }

    [Test]
    public void GradientCheckpointing_GivesIdenticalGradients()
    {
        using var model = TinyModels.Create(Architecture.Llama, seed: 6, dropout: 0.1);
        using var ids = Tensor.FromArray(Ids, 2, 6);
        using var mask = Tensor.FromArray(Mask, 2, 6);
        model.ZeroGrad();
        model.CausalLmStep(ids, Labels, mask, dropout: new Generator(5)).DEmbeddings!.Dispose();
        var plain = model.Adapters.Values.Select(a => a.GradA.ToArray<double>().Concat(a.GradB.ToArray<double>()).ToArray()).ToList();
        model.ZeroGrad();
        model.GradientCheckpointing = true;
        model.CausalLmStep(ids, Labels, mask, dropout: new Generator(5)).DEmbeddings!.Dispose();
        var ckpt = model.Adapters.Values.Select(a => a.GradA.ToArray<double>().Concat(a.GradB.ToArray<double>()).ToArray()).ToList();
        for (int i = 0; i < plain.Count; i++) Assert.That(ckpt[i], Is.EqualTo(plain[i]).Within(1e-12));
    }

    [Test]
    public void ClassificationStep_HeadAndLora_MatchFiniteDifferences()
    {
        using var model = TinyModels.Create(Architecture.Llama, seed: 8);
        model.AddClassificationHead(3, new Generator(1));
        using (var w = Tensor.Randn(model.ScoreHead!.Weight.Shape, new Generator(2), DType.Float64)) model.ScoreHead.Weight.CopyFrom(w);
        using var ids = Tensor.FromArray(Ids, 2, 6);
        using var mask = Tensor.FromArray(Mask, 2, 6);
        long[] classes = [2, 0];
        model.ZeroGrad();
        var (r, scores) = model.ClassificationStep(ids, mask, classes);
        using var _s = scores; using var _d = r.DEmbeddings;
        Assert.That(scores.Shape, Is.EqualTo(new long[] { 2, 3 }));
        double Loss() => model.ClassificationStep(ids, mask, classes, backward: false).Result.Loss;
        GradCheck.AssertMatches(model.ScoreHead.Weight, model.ScoreHead.Grad, Loss, GradCheck.Sample(48, 6, 1), "score");
        var q = model.Adapters["model.layers.0.self_attn.q_proj"];
        GradCheck.AssertMatches(q.A, q.GradA, Loss, GradCheck.Sample(q.A.NumEl, 4, 2), "q.A");
        var down = model.Adapters["model.layers.1.mlp.down_proj"];
        GradCheck.AssertMatches(down.B, down.GradB, Loss, GradCheck.Sample(down.B.NumEl, 4, 3), "down.B");
    }

    [Test]
    public void TrainingAndInference_WithoutAnOuterScope_DisposeEveryTensor()
    {
        using var model = TinyModels.Create(Architecture.Llama, seed: 9);
        using var ids = Tensor.FromArray(Ids, 2, 6);
        using var mask = Tensor.FromArray(Mask, 2, 6);
        void Steps(int n)
        {
            for (int i = 0; i < n; i++)
            {
                model.CausalLmStep(ids, Labels, mask).DEmbeddings!.Dispose();
                model.ComputeLogits(ids, mask).Dispose();
            }
        }
        Steps(5);
        // Finalize what earlier tests dropped, so only this test's tensors move the process-wide count.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = Torch.LiveTensors;
        Steps(20);
        // Every tensor of a step is disposed deterministically, not left for the finalizer.
        Assert.That(Torch.LiveTensors, Is.EqualTo(before));
    }

    [Test]
    public void LastTokenIndex_UsesMask()
    {
        using var mask = Tensor.FromArray(Mask, 2, 6);
        Assert.That(DecoderModel.LastTokenIndex(mask, 2, 6), Is.EqualTo(new long[] { 5, 3 }));
        Assert.That(DecoderModel.LastTokenIndex(null, 2, 6), Is.EqualTo(new long[] { 5, 5 }));
    }
}
