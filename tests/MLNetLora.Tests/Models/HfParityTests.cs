using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;
using static MLNetLora.Tests.TestUtil;

namespace MLNetLora.Tests.Models;

/// <summary>Logits, loss, adapter and merged logits against transformers' own outputs (fixtures README).</summary>
[TestFixture("llama")]
[TestFixture("qwen2")]
public class HfParityTests(string fixture)
{
    private const double LogitTolerance = 1e-4;

    private SafeTensorsFile reference = null!;

    [OneTimeSetUp]
    public void Open() => reference = SafeTensorsFile.Open(Path.Combine(TestPaths.Fixture(fixture), "reference.safetensors"));

    [OneTimeTearDown]
    public void Close() => reference.Dispose();

    private Tensor Ref(string name) => reference.Load(name);

    [Test]
    public void Logits_MatchTransformers()
    {
        using var pm = PretrainedModel.Load(TestPaths.Fixture(fixture));
        using var ids = Ref("input_ids");
        using var expected = Ref("logits");
        using var logits = pm.Model.ComputeLogits(ids);
        Assert.That(logits.Shape, Is.EqualTo(expected.Shape));
        AssertClose(logits, expected.ToArray<double>(), LogitTolerance, "logits");
    }

    [Test]
    public void Loss_MatchesTransformers()
    {
        using var pm = PretrainedModel.Load(TestPaths.Fixture(fixture));
        using var ids = Ref("input_ids");
        using var expected = Ref("loss");
        var r = pm.Model.CausalLmStep(ids, ids.ToArray<long>(), backward: false);
        Assert.That(r.Loss, Is.EqualTo(expected.ToDouble()).Within(1e-5 * expected.ToDouble()));
    }

    [Test]
    public void AdapterAndMergedLogits_MatchPeft()
    {
        using var pm = PretrainedModel.Load(TestPaths.Fixture(fixture));
        var settings = PeftAdapterIO.Load(pm.Model, Path.Combine(TestPaths.Fixture(fixture), "adapter"));
        Assert.That(settings.Rank, Is.EqualTo(4));
        Assert.That(pm.Model.Adapters, Has.Count.EqualTo(7 * pm.Config.NumHiddenLayers));
        using var ids = Ref("input_ids");
        using (var expected = Ref("adapter_logits"))
        using (var logits = pm.Model.ComputeLogits(ids))
            AssertClose(logits, expected.ToArray<double>(), LogitTolerance, "adapter logits");
        pm.Model.MergeAdapters();
        Assert.That(pm.Model.Adapters, Is.Empty);
        using (var expected = Ref("merged_logits"))
        using (var logits = pm.Model.ComputeLogits(ids))
            AssertClose(logits, expected.ToArray<double>(), LogitTolerance, "merged logits");
    }

    [Test]
    public void SavedAdapter_ReloadsToSameLogits_AndMergedCheckpointLoads()
    {
        string dir = TestPaths.NewTempDir();
        using var ids = Ref("input_ids");
        double[] adapterLogits;
        using (var pm = PretrainedModel.Load(TestPaths.Fixture(fixture)))
        {
            var settings = PeftAdapterIO.Load(pm.Model, Path.Combine(TestPaths.Fixture(fixture), "adapter"));
            PeftAdapterIO.Save(pm.Model, settings, Path.Combine(dir, "adapter"), TestPaths.Fixture(fixture));
            using (var l = pm.Model.ComputeLogits(ids)) adapterLogits = l.ToArray<double>();
            pm.SaveMerged(Path.Combine(dir, "merged"));
        }
        using (var pm = PretrainedModel.Load(TestPaths.Fixture(fixture)))
        {
            PeftAdapterIO.Load(pm.Model, Path.Combine(dir, "adapter"));
            using var l = pm.Model.ComputeLogits(ids);
            AssertClose(l, adapterLogits, 1e-6, "reloaded adapter");
        }
        using (var merged = PretrainedModel.Load(Path.Combine(dir, "merged")))
        using (var l = merged.Model.ComputeLogits(ids))
        using (var expected = Ref("merged_logits"))
            AssertClose(l, expected.ToArray<double>(), LogitTolerance, "merged checkpoint");
        Assert.That(File.Exists(Path.Combine(dir, "merged", "tokenizer.json")), Is.True);
    }
}
