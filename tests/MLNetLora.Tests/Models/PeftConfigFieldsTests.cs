using System.Text.Json.Nodes;
using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;

namespace MLNetLora.Tests.Models;

/// <summary>
/// Every adapter_config.json field that changes what a PEFT adapter computes is read as PEFT reads it
/// (checked against the math: a per-module alpha equals scaling that module's B) or refused by name.
/// </summary>
public sealed class PeftConfigFieldsTests : TempDirFixture
{
    private static string Llama => TestPaths.Fixture("llama");

    // The fixture adapter with its config edited: r=4, alpha=8 on all seven projections of both layers.
    private string Adapter(Action<JsonObject> edit, IEnumerable<KeyValuePair<string, Tensor>>? extraTensors = null)
    {
        string dir = Path.Combine(Dir, "adapter-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Llama, "adapter", PeftAdapterIO.ConfigFileName)))!.AsObject();
        edit(config);
        File.WriteAllText(Path.Combine(dir, PeftAdapterIO.ConfigFileName), config.ToJsonString());
        string weights = Path.Combine(Llama, "adapter", PeftAdapterIO.WeightsFileName);
        if (extraTensors is null) File.Copy(weights, Path.Combine(dir, PeftAdapterIO.WeightsFileName));
        else
        {
            using var src = SafeTensorsFile.Open(weights);
            var all = src.Names.Select(n => new KeyValuePair<string, Tensor>(n, src.Load(n))).Concat(extraTensors).ToList();
            SafeTensorsWriter.Write(Path.Combine(dir, PeftAdapterIO.WeightsFileName), all, new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var kv in all) kv.Value.Dispose();
        }
        return dir;
    }

    private static readonly long[] Ids = [0, 17, 256, 3, 1999, 42, 7, 100];

    private static double[] Logits(PretrainedModel pm)
    {
        using var ids = Tensor.FromArray(Ids, 1, Ids.Length);
        using var l = pm.Model.ComputeLogits(ids);
        using var d = l.To(DType.Float64);
        return d.ToArray<double>();
    }

    [Test]
    public void AlphaPattern_ScalesItsModules_AsScalingTheirBWould()
    {
        string dir = Adapter(c => c["alpha_pattern"] = new JsonObject { ["q_proj"] = 32 });
        using var patterned = PretrainedModel.Load(Llama, Device.Cpu);
        var s = PeftAdapterIO.Load(patterned.Model, dir);
        Assert.That(s.ScaleFor("model.layers.1.self_attn.q_proj"), Is.EqualTo(32.0 / 4));
        Assert.That(s.ScaleFor("model.layers.1.self_attn.k_proj"), Is.EqualTo(8.0 / 4));
        // The math: scale·B·A with scale 32/4 equals 8/4 · (4·B)·A.
        using var reference = PretrainedModel.Load(Llama, Device.Cpu);
        PeftAdapterIO.Load(reference.Model, Path.Combine(Llama, "adapter"));
        foreach (var (name, a) in reference.Model.Adapters.Where(kv => kv.Key.EndsWith(".q_proj", StringComparison.Ordinal))) a.B.Mul_(4.0);
        double[] got = Logits(patterned), expected = Logits(reference);
        Assert.That(got, Is.EqualTo(expected).Within(1e-5));
        using var plain = PretrainedModel.Load(Llama, Device.Cpu);
        PeftAdapterIO.Load(plain.Model, Path.Combine(Llama, "adapter"));
        Assert.That(Logits(plain).Zip(got).Max(p => Math.Abs(p.First - p.Second)), Is.GreaterThan(1e-3), "the pattern changes the logits");
    }

    [Test]
    public void RankPattern_GivesItsModulesTheirRank()
    {
        // q_proj of layer 0 at rank 2: its factors are the first 2 rows of A and columns of B.
        string q = "base_model.model.model.layers.0.self_attn.q_proj";
        using var src = SafeTensorsFile.Open(Path.Combine(Llama, "adapter", PeftAdapterIO.WeightsFileName));
        using var a = src.Load(q + ".lora_A.weight");
        using var b = src.Load(q + ".lora_B.weight");
        string dir = Path.Combine(Dir, "ranked");
        Directory.CreateDirectory(dir);
        var all = src.Names.Where(n => !n.StartsWith(q + ".", StringComparison.Ordinal)).Select(n => new KeyValuePair<string, Tensor>(n, src.Load(n)))
            .Append(new(q + ".lora_A.weight", a.Narrow(0, 0, 2).Contiguous())).Append(new(q + ".lora_B.weight", b.Narrow(1, 0, 2).Contiguous())).ToList();
        SafeTensorsWriter.Write(Path.Combine(dir, PeftAdapterIO.WeightsFileName), all, new Dictionary<string, string> { ["format"] = "pt" });
        foreach (var kv in all) kv.Value.Dispose();
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Llama, "adapter", PeftAdapterIO.ConfigFileName)))!.AsObject();
        config["rank_pattern"] = new JsonObject { ["model.layers.0.self_attn.q_proj"] = 2 };
        File.WriteAllText(Path.Combine(dir, PeftAdapterIO.ConfigFileName), config.ToJsonString());
        using var pm = PretrainedModel.Load(Llama, Device.Cpu);
        var s = PeftAdapterIO.Load(pm.Model, dir);
        var adapter = pm.Model.Adapters["model.layers.0.self_attn.q_proj"];
        Assert.That(adapter.A.Shape, Is.EqualTo(new long[] { 2, 64 }));
        Assert.That(adapter.Scale, Is.EqualTo(8.0 / 2), "alpha / the module's own rank");
        Assert.That(pm.Model.Adapters["model.layers.1.self_attn.q_proj"].A.Shape[0], Is.EqualTo(4));
        Assert.That(s.RankFor("model.layers.1.self_attn.q_proj"), Is.EqualTo(4), "the pattern names layer 0 only");
    }

    [TestCase("target_modules", "\".*layers\\\\.0\\\\.self_attn\\\\.(q_proj|v_proj)\"", new[] { "model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj" })]
    [TestCase("layers_to_transform", "[1]", null)]
    [TestCase("exclude_modules", "[\"v_proj\", \"down_proj\"]", null)]
    public void Targeting_SelectsTheModulesPeftWould(string field, string json, string[]? expected)
    {
        string dir = Adapter(c => c[field] = JsonNode.Parse(json));
        using var pm = PretrainedModel.Load(Llama, Device.Cpu);
        PeftAdapterIO.Load(pm.Model, dir);
        var names = pm.Model.Adapters.Keys.Order(StringComparer.Ordinal).ToArray();
        switch (field)
        {
            case "target_modules": Assert.That(names, Is.EqualTo(expected)); break;
            case "layers_to_transform":
                Assert.That(names, Has.Length.EqualTo(7));
                Assert.That(names, Is.All.StartsWith("model.layers.1."));
                break;
            default:
                Assert.That(names, Has.Length.EqualTo(2 * 5));
                Assert.That(names, Has.None.EndsWith("v_proj").And.None.EndsWith("down_proj"));
                break;
        }
    }

    [Test]
    public void ModulesToSaveLmHead_ReplacesTheHeadWeights()
    {
        using var baseModel = PretrainedModel.Load(Llama, Device.Cpu);
        using var doubled = baseModel.Model.LmHead.Weight.Mul(2.0);
        string dir = Adapter(c => c["modules_to_save"] = new JsonArray("lm_head"), [new("base_model.model.lm_head.weight", doubled.Contiguous())]);
        using var pm = PretrainedModel.Load(Llama, Device.Cpu);
        PeftAdapterIO.Load(pm.Model, dir);
        using var loaded = pm.Model.LmHead.Weight.To(DType.Float64);
        using var want = doubled.To(DType.Float64);
        Assert.That(loaded.ToArray<double>(), Is.EqualTo(want.ToArray<double>()));
    }

    [Test]
    public void BiasLoraOnly_ForALayerWithoutBias_RefusedNamingIt()
    {
        using var bias = Tensor.Ones([64]);
        string dir = Adapter(c => c["bias"] = "lora_only", [new("base_model.model.model.layers.0.self_attn.q_proj.bias", bias.Contiguous())]);
        using var pm = PretrainedModel.Load(Llama, Device.Cpu);
        var e = Assert.Throws<CheckpointException>(() => PeftAdapterIO.Load(pm.Model, dir));
        Assert.That(e!.Message, Does.Contain("model.layers.0.self_attn.q_proj").And.Contain("bias=\"lora_only\""));
    }

    [Test]
    public void BiasAll_OnQwen2_LoadsTheTrainedBiases()
    {
        string qwen = TestPaths.Fixture("qwen2");
        using var pm0 = PretrainedModel.Load(qwen, Device.Cpu);
        string dir = Path.Combine(Dir, "qwen-bias");
        var lin = pm0.Model.Linears.First(l => l.Bias is not null);
        var settings = new LoraSettings { Rank = 2, Alpha = 4 };
        pm0.Model.AddLora(settings, new Generator(1));
        PeftAdapterIO.Save(pm0.Model, settings, dir, qwen);
        using var newBias = lin.Bias!.Add(0.5);
        using (var src = SafeTensorsFile.Open(Path.Combine(dir, PeftAdapterIO.WeightsFileName)))
        {
            var all = src.Names.Select(n => new KeyValuePair<string, Tensor>(n, src.Load(n))).Append(new("base_model.model." + lin.Name + ".bias", newBias.Contiguous())).ToList();
            SafeTensorsWriter.Write(Path.Combine(dir, PeftAdapterIO.WeightsFileName), all, new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var kv in all) kv.Value.Dispose();
        }
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PeftAdapterIO.ConfigFileName)))!.AsObject();
        config["bias"] = "all";
        File.WriteAllText(Path.Combine(dir, PeftAdapterIO.ConfigFileName), config.ToJsonString());
        using var pm = PretrainedModel.Load(qwen, Device.Cpu);
        PeftAdapterIO.Load(pm.Model, dir);
        var loaded = pm.Model.Linears.First(l => l.Name == lin.Name).Bias!;
        using var a = loaded.To(DType.Float64);
        using var b = newBias.To(DType.Float64);
        Assert.That(a.ToArray<double>(), Is.EqualTo(b.ToArray<double>()));
    }

    [TestCase("lora_bias", "true", "lora_bias")]
    [TestCase("fan_in_fan_out", "true", "fan_in_fan_out")]
    [TestCase("init_lora_weights", "\"pissa\"", "init_lora_weights")]
    [TestCase("layer_replication", "[[0, 2]]", "layer_replication")]
    [TestCase("modules_to_save", "[\"mlp\"]", "modules_to_save \"mlp\"")]
    [TestCase("alora_invocation_tokens", "[5, 6]", "alora_invocation_tokens")]
    [TestCase("peft_type", "\"IA3\"", "IA3")]
    public void UnsupportedField_RefusedByName(string field, string json, string named)
    {
        string dir = Adapter(c => c[field] = JsonNode.Parse(json));
        using var pm = PretrainedModel.Load(Llama, Device.Cpu);
        var e = Assert.Throws<CheckpointException>(() => PeftAdapterIO.Load(pm.Model, dir));
        Assert.That(e!.Message, Does.Contain(named));
    }

    [Test]
    public void Save_WritesPeftsFieldsAndAPortableBaseModelName()
    {
        using var pm = PretrainedModel.Load(Llama, Device.Cpu);
        var s = PeftAdapterIO.Load(pm.Model, Adapter(c => c["alpha_pattern"] = new JsonObject { ["q_proj"] = 32 }));
        string dir = Path.Combine(Dir, "saved");
        PeftAdapterIO.Save(pm.Model, s, dir, Llama);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PeftAdapterIO.ConfigFileName)))!.AsObject();
        Assert.That(config["base_model_name_or_path"]!.GetValue<string>(), Is.EqualTo("llama"), "the folder's name, not this machine's path");
        foreach (string f in new[] { "peft_version", "rank_pattern", "alpha_pattern", "lora_bias", "layers_to_transform", "exclude_modules" })
            Assert.That(config.ContainsKey(f), Is.True, f);
        Assert.That(config["alpha_pattern"]!.AsObject().Count, Is.EqualTo(2), "both q_proj adapters keep alpha 32");
        using var reloaded = PretrainedModel.Load(Llama, Device.Cpu);
        PeftAdapterIO.Load(reloaded.Model, dir);
        Assert.That(Logits(reloaded), Is.EqualTo(Logits(pm)).Within(1e-6));
    }
}
