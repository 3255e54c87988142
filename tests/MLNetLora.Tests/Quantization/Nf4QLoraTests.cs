using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Generation;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;
using MLNetLora.Models.Quantization;
using MLNetLora.Models.Transformer;
using MLNetLora.Tests.Models;
using static MLNetLora.Tests.TestUtil;

namespace MLNetLora.Tests.Quantization;

/// <summary>
/// QLoRA storage in the model: a LoraLinear with an NF4 base weight computes exactly what a dense one
/// holding the dequantized weight does (outputs, input gradients, LoRA gradients), the whole model
/// likewise, and on the llama fixture the quantized logits stay close to the unquantized ones.
/// </summary>
public class Nf4QLoraTests
{
    private static Tensor Rand(ulong seed, params long[] shape)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        return Tensor.FromArray(Random((int)n, seed).Select(d => (float)d).ToArray(), shape);
    }

    private static LoraAdapter Adapter(int inF, int outF, DType dtype)
    {
        var a = new LoraAdapter("lin", inF, outF, rank: 4, scale: 2.0, dtype, Device.Cpu);
        using var av = Rand(21, 4, inF);
        using var bv = Rand(22, outF, 4);
        a.A.CopyFrom(av);
        a.B.CopyFrom(bv);
        return a;
    }

    [TestCase(false)]
    [TestCase(true)]
    public void QuantizedLinear_ForwardAndGradients_EqualDenseHoldingDequantizedWeight(bool doubleQuant)
    {
        const int inF = 96, outF = 80;
        using var w = Rand(20, outF, inF);
        using var quantW = w.Clone();
        using var qLin = new LoraLinear("lin", quantW.Clone(), null, Adapter(inF, outF, DType.Float32));
        qLin.QuantizeWeight(doubleQuant, 64);
        Assert.That(qLin.QuantizedWeight, Is.Not.Null);
        Assert.That((qLin.InFeatures, qLin.OutFeatures), Is.EqualTo((inF, outF)));
        Assert.Throws<InvalidOperationException>(() => _ = qLin.Weight);
        using var dLin = new LoraLinear("lin", qLin.DequantizeWeight(), null, Adapter(inF, outF, DType.Float32));

        using var x = Rand(23, 2, 5, inF);
        using var dy = Rand(24, 2, 5, outF);
        var sq = new LoraLinear.Saved();
        var sd = new LoraLinear.Saved();
        using var yq = qLin.Forward(x, sq);
        using var yd = dLin.Forward(x, sd);
        Assert.That(yq.ToArray<float>(), Is.EqualTo(yd.ToArray<float>()), "forward");
        using var dxq = qLin.Backward(dy, sq)!;
        using var dxd = dLin.Backward(dy, sd)!;
        Assert.That(dxq.ToArray<float>(), Is.EqualTo(dxd.ToArray<float>()), "input gradient (dy·W)");
        Assert.That(qLin.Adapter!.GradA.ToArray<float>(), Is.EqualTo(dLin.Adapter!.GradA.ToArray<float>()), "dA");
        Assert.That(qLin.Adapter!.GradB.ToArray<float>(), Is.EqualTo(dLin.Adapter!.GradB.ToArray<float>()), "dB");
        foreach (var t in sq.Tensors().Concat(sd.Tensors())) t.Dispose();
        qLin.Adapter.Dispose();
        dLin.Adapter.Dispose();
    }

    [Test]
    public void QuantizedLinear_BFloat16Input_DequantizesToBFloat16()
    {
        using var w = Rand(30, 64, 64);
        using var wb = w.To(DType.BFloat16);
        using var lin = new LoraLinear("lin", wb.Clone(), null);
        lin.QuantizeWeight(true, 64);
        using var dense = lin.DequantizeWeight();
        Assert.That(dense.DType, Is.EqualTo(DType.BFloat16));
        using var x = Rand(31, 3, 64);
        using var xb = x.To(DType.BFloat16);
        using var y = lin.Forward(xb);
        using var yRef = xb.Linear(dense);
        Assert.That(y.DType, Is.EqualTo(DType.BFloat16));
        Assert.That(y.To(DType.Float32).ToArray<float>(), Is.EqualTo(yRef.To(DType.Float32).ToArray<float>()));
    }

    [TestCase(Architecture.Llama)]
    [TestCase(Architecture.Phi3)]
    public void QuantizedModel_LogitsLossAndLoraGradients_EqualDenseModelWithDequantizedWeights(Architecture arch)
    {
        // Same seed, same adapters; the dense twin holds the dequantized weights (quantize, then decode in place).
        using var q = TinyModels.Create(arch, seed: 5);
        using var d = TinyModels.Create(arch, seed: 5);
        var report = q.QuantizeBaseWeights(doubleQuant: true, blockSize: 16);
        d.QuantizeBaseWeights(doubleQuant: true, blockSize: 16);
        d.DequantizeBaseWeights();
        Assert.That(q.IsQuantized, Is.True);
        Assert.That(d.IsQuantized, Is.False);
        Assert.That(report.QuantizedWeights, Is.EqualTo(q.Linears.Sum(l => (long)l.InFeatures * l.OutFeatures)));
        Assert.That(q.LmHead.QuantizedWeight, Is.Null, "the LM head stays dense");

        using var ids = Tensor.FromArray(new long[] { 3, 7, 1, 9, 4, 11, 2, 2, 5, 8, 13, 6 }, 2, 6);
        using (var lq = q.ComputeLogits(ids))
        using (var ld = d.ComputeLogits(ids))
            Assert.That(lq.ToArray<double>(), Is.EqualTo(ld.ToArray<double>()), "logits");
        var labels = ids.ToArray<long>();
        var rq = q.CausalLmStep(ids, labels);
        var rd = d.CausalLmStep(ids, labels);
        rq.DEmbeddings?.Dispose();
        rd.DEmbeddings?.Dispose();
        Assert.That(rq.Loss, Is.EqualTo(rd.Loss));
        Assert.That(q.Adapters, Is.Not.Empty);
        foreach (var (name, a) in q.Adapters)
        {
            AssertClose(a.GradA, d.Adapters[name].GradA.ToArray<double>(), 1e-12, name + " dA");
            AssertClose(a.GradB, d.Adapters[name].GradB.ToArray<double>(), 1e-12, name + " dB");
        }
    }

    [Test]
    public void QuantizedModel_KvCacheDecoding_MatchesFullForward()
    {
        using var model = TinyModels.Create(Architecture.Llama, seed: 6);
        model.QuantizeBaseWeights(blockSize: 16);
        using var ids = Tensor.FromArray(new long[] { 3, 7, 1, 9, 4, 11 }, 1, 6);
        using var full = model.ComputeLogits(ids);
        var f = full.ToArray<double>();
        int v = model.Spec.VocabSize;
        using var cache = new KvCache(model, 1, 6);
        for (int t = 0; t < 6; t++)
        {
            using var step = ids.Narrow(1, t, 1);
            using var logits = model.ForwardIncremental(step, cache);
            AssertClose(logits, f.AsSpan(t * v, v), 1e-10, $"step {t}");
        }
    }

    [Test]
    public void QuantizedModel_MergeMakesDenseWeightsEqualToAdapterLogits()
    {
        using var model = TinyModels.Create(Architecture.Llama, seed: 7);
        model.QuantizeBaseWeights(blockSize: 16);
        Assert.Throws<InvalidOperationException>(() => model.NamedWeights().ToList(), "no export of NF4 weights as if dense");
        using var ids = Tensor.FromArray(new long[] { 3, 7, 1, 9, 4, 11 }, 1, 6);
        using var before = model.ComputeLogits(ids);
        model.MergeAdapters();
        Assert.That(model.IsQuantized, Is.False, "merging leaves every base weight dense in the compute dtype");
        Assert.That(model.Linears.First().Weight.DType, Is.EqualTo(DType.Float64));
        using var after = model.ComputeLogits(ids);
        AssertClose(after, before.ToArray<double>(), 1e-10, "merged vs adapter logits");
        Assert.That(model.NamedWeights().Count(), Is.GreaterThan(0));
        Assert.That(model.FirstNonFiniteWeight(), Is.Null);
    }

    [Test]
    public void LlamaFixture_QuantizedLogits_CloseToUnquantized()
    {
        using var reference = SafeTensorsFile.Open(Path.Combine(TestPaths.Fixture("llama"), "reference.safetensors"));
        using var ids = reference.Load("input_ids");
        foreach (bool dq in new[] { false, true })
        {
            using var pm = PretrainedModel.Load(TestPaths.Fixture("llama"));
            var dense = QuantizationReport.ForModel(pm.Model);
            var r = QuantizationReport.Measure(pm.Model, ids, doubleQuant: dq);
            TestContext.Out.WriteLine($"doubleQuant={dq}: {r}");
            Assert.That(dense.QuantizedWeights, Is.Zero);
            Assert.That(r.QuantizedBytes, Is.EqualTo(pm.Model.Linears.Sum(l => l.QuantizedWeight!.StorageBytes)));
            // The fixture's layers are tiny (64x64), so the per-tensor tables are a visible share here.
            Assert.That(r.BytesPerQuantizedWeightWithoutTables, Is.LessThan(dq ? 0.52 : 0.57));
            Assert.That(r.TotalBytes, Is.LessThan(dense.TotalBytes));
            Assert.That(pm.Model.FirstNonFiniteWeight(), Is.Null);
            // Bound set from the measurement with headroom: 9.8% (both variants) of the mean |logit|. The
            // fixture is a random-init model whose logits are small (mean |logit| ≈ 0.13), so the relative
            // error is larger than on a trained model; mean |Δ| ≈ 0.012, max |Δ| ≈ 0.085.
            Assert.That(r.MeanRelativeLogitError, Is.LessThan(0.15));
            Assert.That(r.MaxAbsLogitError, Is.LessThan(0.2));
            Assert.That(r.MaxAbsLogitError, Is.GreaterThan(0), "quantization must change something");
        }
    }
}
