using System.Text.Json.Nodes;
using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Transformer;

namespace MLNetLora.Tests.Checkpoints;

/// <summary>
/// yarn and longrope frequencies and attention factors equal transformers' formulas (reference in
/// tests/fixtures/rope, made by make_reference.py), and longrope switches to its long factors for a
/// forward whose positions pass the original context.
/// </summary>
public sealed class LongContextRopeTests : TempDirFixture
{
    private static JsonArray Cases() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "rope", "yarn_longrope.json")))!.AsArray();

    private ModelConfig Config(JsonObject json)
    {
        string dir = Path.Combine(Dir, Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), json.ToJsonString());
        return ModelConfig.Load(dir);
    }

    [TestCase("qwen2.5-yarn")]
    [TestCase("yarn-mscale-no-factor")]
    [TestCase("phi3-longrope")]
    public void Compute_MatchesTransformersFormulas(string name)
    {
        var c = Cases().Single(x => x!["name"]!.GetValue<string>() == name)!.AsObject();
        var rope = RopeFrequencies.Compute(Config(c["config"]!.AsObject()));
        double[] expected = c["inv_freq"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.That(rope.InverseFrequencies, Has.Length.EqualTo(expected.Length));
        for (int i = 0; i < expected.Length; i++)
            Assert.That(rope.InverseFrequencies[i], Is.EqualTo(expected[i]).Within(1e-6).Percent, $"pair {i}");
        Assert.That(rope.AttentionScaling, Is.EqualTo(c["attention_factor"]!.GetValue<double>()).Within(1e-12));
        if (c["long_inv_freq"] is JsonArray longFreq)
        {
            Assert.That(rope.LongThreshold, Is.EqualTo(c["long_threshold"]!.GetValue<int>()));
            var got = rope.LongInverseFrequencies!;
            for (int i = 0; i < longFreq.Count; i++)
                Assert.That(got[i], Is.EqualTo(longFreq[i]!.GetValue<double>()).Within(1e-6).Percent, $"long pair {i}");
        }
        Assert.That(rope.AttentionScaling, Is.Not.EqualTo(1.0), "these configs scale attention");
    }

    [Test]
    public void LongRope_PositionsPastTheOriginalContext_UseTheLongFactors()
    {
        double[] shortF = [1.0, 0.5], longF = [0.25, 0.125];
        using var rope = new RotaryEmbedding(shortF, 1.0, 64, DType.Float32, Device.Cpu, longF, longThreshold: 16);
        using var shortPos = Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (long)i).ToArray(), 1, 16);
        using var longPos = Tensor.FromArray(Enumerable.Range(0, 17).Select(i => (long)i).ToArray(), 1, 17);
        var (cs, _) = rope.Lookup(shortPos);
        var (cl, _) = rope.Lookup(longPos);
        using (cs)
        using (cl)
        {
            float[] s = cs.ToArray<float>(), l = cl.ToArray<float>();
            // position 3, pair 0: cos(3 × f)
            Assert.That(s[3 * 4], Is.EqualTo(MathF.Cos(3 * 1.0f)).Within(1e-6));
            Assert.That(l[3 * 4], Is.EqualTo(MathF.Cos(3 * 0.25f)).Within(1e-6), "17 positions pass the threshold of 16: long factors for every token");
        }
    }
}
