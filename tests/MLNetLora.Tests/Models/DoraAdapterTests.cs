using System.Text.Json.Nodes;
using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Generation;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;
using MLNetLora.Models.Transformer;
using static MLNetLora.Tests.TestUtil;

namespace MLNetLora.Tests.Models;

/// <summary>
/// DoRA adapters on whole models: PEFT's file format (<c>lora_magnitude_vector</c>, <c>use_dora</c>), the
/// merge, and the KV-cache path, on the llama fixture (float32) and a tiny float64 model.
/// </summary>
public sealed class DoraAdapterTests : TempDirFixture
{
    private static string Llama => TestPaths.Fixture("llama");

    private static readonly long[] Ids = [0, 17, 256, 3, 1999, 42, 7, 100];

    private static readonly LoraSettings Dora = new() { Rank = 4, Alpha = 8, UseDora = true, TargetModules = LoraSettings.AllLinear };

    // DoRA on every linear layer with B and m moved off their init, as training would, so the adapter changes the output.
    private static void AddTrainedLookingDora(DecoderModel model, ulong seed)
    {
        var g = new Generator(seed);
        model.AddLora(Dora, g);
        foreach (var a in model.Adapters.Values)
        {
            using var s = TensorScope.Begin();
            a.B.CopyFrom(Tensor.Randn(a.B.Shape, g, a.B.DType) * 0.05);
            a.Magnitude!.Mul_(Tensor.Randn(a.Magnitude.Shape, g, a.Magnitude.DType) * 0.1 + 1);
        }
    }

    private static double[] Logits(DecoderModel model, long[] ids)
    {
        using var t = Tensor.FromArray(ids, 1, ids.Length);
        using var l = model.ComputeLogits(t);
        using var d = l.To(DType.Float64);
        return d.ToArray<double>();
    }

    private static DecoderModel TinyDoraModel(ulong seed)
    {
        var spec = TinyModels.Spec(Architecture.Llama);
        var weights = TinyModels.Weights(spec, seed);
        var model = DecoderModel.Create(spec, new DictionaryWeightSource(weights), DType.Float64, Device.Cpu);
        foreach (var t in weights.Values) t.Dispose();
        AddTrainedLookingDora(model, seed + 100);
        return model;
    }

    private static readonly long[] TinyIds = [3, 7, 1, 9, 4, 11, 2, 5, 8, 13];

    [Test]
    public void SaveLoad_PeftFormat_GivesIdenticalLogits()
    {
        using var pm = PretrainedModel.Load(Llama, Device.Cpu);
        AddTrainedLookingDora(pm.Model, 1);
        var expected = Logits(pm.Model, Ids);
        string dir = Path.Combine(Dir, "dora");
        PeftAdapterIO.Save(pm.Model, Dora, dir, Llama);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PeftAdapterIO.ConfigFileName)))!;
        Assert.That(config["use_dora"]!.GetValue<bool>(), Is.True);
        using (var file = SafeTensorsFile.Open(Path.Combine(dir, PeftAdapterIO.WeightsFileName)))
            foreach (var (name, a) in pm.Model.Adapters)
            {
                string key = $"base_model.model.{name}.lora_magnitude_vector";
                Assert.That(file.Contains(key), Is.True, key);
                using var m = file.Load(key);
                Assert.That(m.Shape, Is.EqualTo(new long[] { a.OutFeatures }), key);
            }

        using var reloaded = PretrainedModel.Load(Llama, Device.Cpu);
        var settings = PeftAdapterIO.Load(reloaded.Model, dir);
        Assert.That(settings.UseDora, Is.True);
        Assert.That(reloaded.Model.Adapters.Values.All(a => a.IsDora), Is.True);
        Assert.That(Logits(reloaded.Model, Ids), Is.EqualTo(expected), "the same float32 values give the same logits");
        reloaded.Model.RemoveLora();
        Assert.That(Logits(reloaded.Model, Ids), Is.Not.EqualTo(expected), "the adapter changes the output");
    }

    [Test]
    public void Load_UseDoraWithoutAMagnitude_FailsNamingTheKey()
    {
        using var pm = PretrainedModel.Load(Llama, Device.Cpu);
        AddTrainedLookingDora(pm.Model, 2);
        string dir = Path.Combine(Dir, "dora");
        PeftAdapterIO.Save(pm.Model, Dora, dir, Llama);
        const string Missing = "base_model.model.model.layers.1.mlp.up_proj.lora_magnitude_vector";
        RewriteWeights(dir, kv => kv.Key == Missing ? null : kv);

        using var reloaded = PretrainedModel.Load(Llama, Device.Cpu);
        var e = Assert.Throws<CheckpointException>(() => PeftAdapterIO.Load(reloaded.Model, dir));
        Assert.That(e!.Message, Does.Contain(Missing).And.Contain("use_dora"));
    }

    [Test]
    public void Load_MagnitudeKeyWithWeightSuffix_IsAccepted()
    {
        using var pm = PretrainedModel.Load(Llama, Device.Cpu);
        AddTrainedLookingDora(pm.Model, 3);
        var expected = Logits(pm.Model, Ids);
        string dir = Path.Combine(Dir, "dora");
        PeftAdapterIO.Save(pm.Model, Dora, dir, Llama);
        // The in-memory parameter name (DoraLinearLayer.weight), which PEFT's own loader also takes.
        RewriteWeights(dir, kv => kv.Key.EndsWith(".lora_magnitude_vector", StringComparison.Ordinal) ? new(kv.Key + ".weight", kv.Value) : kv);

        using var reloaded = PretrainedModel.Load(Llama, Device.Cpu);
        PeftAdapterIO.Load(reloaded.Model, dir);
        Assert.That(Logits(reloaded.Model, Ids), Is.EqualTo(expected));
    }

    [Test]
    public void MergeAdapters_Float32_EqualsTheUnmergedForward()
    {
        using var pm = PretrainedModel.Load(Llama, Device.Cpu);
        AddTrainedLookingDora(pm.Model, 4);
        var unmerged = Logits(pm.Model, Ids);
        pm.Model.MergeAdapters();
        var merged = Logits(pm.Model, Ids);
        double worst = merged.Zip(unmerged, (a, b) => Math.Abs(a - b)).Max();
        TestContext.Out.WriteLine($"float32 merge: max |logit diff| {worst:G3} (logits up to {unmerged.Max(Math.Abs):G3})");
        Assert.That(worst, Is.LessThan(1e-5));
    }

    [Test]
    public void MergeAdapters_Float64_EqualsTheUnmergedForward()
    {
        using var model = TinyDoraModel(5);
        var unmerged = Logits(model, TinyIds);
        model.MergeAdapters();
        var merged = Logits(model, TinyIds);
        double worst = merged.Zip(unmerged, (a, b) => Math.Abs(a - b)).Max();
        TestContext.Out.WriteLine($"float64 merge: max |logit diff| {worst:G3}");
        Assert.That(worst, Is.LessThan(1e-10));
    }

    [Test]
    public void ForwardIncremental_Dora_MatchesTheFullForward()
    {
        using var model = TinyDoraModel(6);
        var full = Logits(model, TinyIds);
        int v = model.Spec.VocabSize;
        using var ids = Tensor.FromArray(TinyIds, 1, TinyIds.Length);
        using var cache = new KvCache(model, 1, TinyIds.Length);
        for (int t = 0; t < TinyIds.Length; t++)
        {
            using var step = ids.Narrow(1, t, 1);
            using var logits = model.ForwardIncremental(step, cache);
            AssertClose(logits, full.AsSpan(t * v, v), 1e-10, $"step {t}");
        }
    }

    [Test]
    public void BFloat16Compute_TracksFloat32_ForwardAndMagnitudeGradient()
    {
        using var f32 = PretrainedModel.Load(Llama, Device.Cpu);
        using var bf16 = PretrainedModel.Load(Llama, Device.Cpu, DType.BFloat16);
        AddTrainedLookingDora(f32.Model, 7);
        bf16.Model.AddLora(Dora, new Generator(0));
        foreach (var (name, a) in bf16.Model.Adapters)
        {
            var src = f32.Model.Adapters[name];
            Assert.That(a.Magnitude!.DType, Is.EqualTo(DType.Float32), "the magnitude stays float32 under bfloat16 compute");
            a.A.CopyFrom(src.A);
            a.B.CopyFrom(src.B);
            a.Magnitude.CopyFrom(src.Magnitude!);
        }
        double[] expected = Logits(f32.Model, Ids), actual = Logits(bf16.Model, Ids);
        double std = Math.Sqrt(expected.Select(x => x * x).Average() - Math.Pow(expected.Average(), 2));
        double meanError = actual.Zip(expected, (p, q) => Math.Abs(p - q)).Average();
        // The bfloat16 device-parity bound of the base model (mean |diff| under 3% of the logits' spread).
        Assert.That(meanError, Is.LessThan(0.03 * std), $"mean |diff| {meanError:G3}, logit std {std:G3}");

        double[] Dm(PretrainedModel pm)
        {
            using var ids = Tensor.FromArray(Ids, 1, Ids.Length);
            pm.Model.ZeroGrad();
            pm.Model.CausalLmStep(ids, [.. Ids[1..], -100], dropout: new Generator(5)).DEmbeddings?.Dispose();
            return pm.Model.Adapters.Values.SelectMany(a => a.GradMagnitude!.ToArray<double>()).ToArray();
        }
        double[] g32 = Dm(f32), g16 = Dm(bf16);
        double dot = g32.Zip(g16, (p, q) => p * q).Sum(), cos = dot / Math.Sqrt(g32.Sum(v => v * v) * g16.Sum(v => v * v));
        TestContext.Out.WriteLine($"bfloat16 DoRA: logits mean |diff| {meanError:G3} (std {std:G3}); dm cosine to float32 {cos:F5}");
        Assert.That(cos, Is.GreaterThan(0.99), "the magnitude gradient under bfloat16 points where float32's does");
    }

    // Rewrites adapter_model.safetensors with each tensor mapped (null drops it).
    private static void RewriteWeights(string dir, Func<KeyValuePair<string, Tensor>, KeyValuePair<string, Tensor>?> map)
    {
        string path = Path.Combine(dir, PeftAdapterIO.WeightsFileName);
        List<KeyValuePair<string, Tensor>> all;
        using (var src = SafeTensorsFile.Open(path))
            all = src.Names.Select(n => new KeyValuePair<string, Tensor>(n, src.Load(n))).ToList();
        var kept = all.Select(map).Where(kv => kv is not null).Select(kv => kv!.Value).ToList();
        // Written beside and renamed over, so the file the tensors were read from is never rewritten in place.
        SafeTensorsWriter.Write(path + ".new", kept, new Dictionary<string, string> { ["format"] = "pt" });
        foreach (var kv in all) kv.Value.Dispose();
        File.Move(path + ".new", path, overwrite: true);
    }
}
