using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Tests.Checkpoints;

public class RopeFrequenciesTests
{
    /// <summary>Llama 3.1's published settings on a 128-wide head: θ 500000, factor 8, low 1, high 4, original context 8192.</summary>
    private static ModelConfig Llama3Config(double factor = 8) => ModelConfig.Parse(ConfigSamples.Minimal("llama",
        $$"""
        "head_dim": 128, "rope_theta": 500000.0,
        "rope_scaling": {"rope_type": "llama3", "factor": {{factor}}, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
        """));

    private static double Plain(double theta, int i, int dim) => 1.0 / Math.Pow(theta, 2.0 * i / dim);

    [Test]
    public void Compute_DefaultFixture_IsOneOverThetaToTheTwoIOverDim()
    {
        var rope = RopeFrequencies.Compute(ModelConfig.Load(TestPaths.Fixture("llama")));
        Assert.That(rope.RotaryDim, Is.EqualTo(16));
        Assert.That(rope.AttentionScaling, Is.EqualTo(1.0));
        Assert.That(rope.RopeType, Is.EqualTo("default"));
        TestUtil.AssertClose(rope.InverseFrequencies, Enumerable.Range(0, 8).Select(i => Plain(10000, i, 16)).ToArray(), 1e-15, "inv_freq");
        Assert.That(rope.InverseFrequencies[0], Is.EqualTo(1.0));
    }

    [Test]
    public void Compute_Linear_DividesEveryFrequencyByFactor()
    {
        var c = ModelConfig.Parse(ConfigSamples.Minimal("llama", "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 4.0}"));
        var rope = RopeFrequencies.Compute(c);
        TestUtil.AssertClose(rope.InverseFrequencies, Enumerable.Range(0, 8).Select(i => Plain(10000, i, 16) / 4).ToArray(), 1e-15, "inv_freq");
    }

    [Test]
    public void Compute_Llama3_KeepsHighFrequenciesUnchanged()
    {
        var rope = RopeFrequencies.Compute(Llama3Config());
        Assert.That(rope.InverseFrequencies, Has.Length.EqualTo(64));
        // Wavelengths below 8192 / 4 = 2048 tokens are left alone: 2π / inv_freq < 2048 holds for i = 0..28.
        for (int i = 0; i <= 28; i++)
        {
            Assert.That(2 * Math.PI / Plain(500000, i, 128), Is.LessThan(2048), $"precondition at {i}");
            Assert.That(rope.InverseFrequencies[i], Is.EqualTo(Plain(500000, i, 128)).Within(1e-15).Percent, $"i={i}");
        }
    }

    [Test]
    public void Compute_Llama3_DividesLowFrequenciesByFactor()
    {
        var rope = RopeFrequencies.Compute(Llama3Config());
        // Wavelengths above 8192 / 1 tokens are divided by the factor: true for i = 35..63.
        for (int i = 35; i < 64; i++)
        {
            Assert.That(2 * Math.PI / Plain(500000, i, 128), Is.GreaterThan(8192), $"precondition at {i}");
            Assert.That(rope.InverseFrequencies[i], Is.EqualTo(Plain(500000, i, 128) / 8).Within(1e-12).Percent, $"i={i}");
        }
    }

    [Test]
    public void Compute_Llama3_InterpolatesTheMiddleBand()
    {
        var rope = RopeFrequencies.Compute(Llama3Config());
        int checkedCount = 0;
        for (int i = 0; i < 64; i++)
        {
            double inv = Plain(500000, i, 128);
            double wavelen = 2 * Math.PI / inv;
            if (wavelen < 2048 || wavelen > 8192) continue;
            // smooth = (original / wavelen − low) / (high − low); result = (1 − smooth) · inv / factor + smooth · inv.
            double smooth = (8192 / wavelen - 1) / (4 - 1);
            double expected = (1 - smooth) * inv / 8 + smooth * inv;
            Assert.That(smooth, Is.InRange(0.0, 1.0));
            Assert.That(rope.InverseFrequencies[i], Is.EqualTo(expected).Within(1e-12).Percent, $"i={i}");
            Assert.That(rope.InverseFrequencies[i], Is.LessThan(inv).And.GreaterThan(inv / 8), $"i={i} lies between the two regimes");
            checkedCount++;
        }
        Assert.That(checkedCount, Is.EqualTo(6), "i = 29..34 fall in the smoothing band");
    }

    [Test]
    public void Compute_Llama3WithoutOriginalContext_FallsBackToMaxPositions()
    {
        var c = ModelConfig.Parse(ConfigSamples.Minimal("llama",
            "\"max_position_embeddings\": 8192, \"head_dim\": 128, \"rope_theta\": 500000.0, \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0}"));
        Assert.That(RopeFrequencies.Compute(c).InverseFrequencies, Is.EqualTo(RopeFrequencies.Compute(Llama3Config()).InverseFrequencies));
    }

    [Test]
    public void Compute_Llama3MissingFactor_NamesTheKey()
    {
        var c = ModelConfig.Parse(ConfigSamples.Minimal("llama", "\"rope_scaling\": {\"rope_type\": \"llama3\", \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0}"));
        var ex = Assert.Throws<CheckpointException>(() => RopeFrequencies.Compute(c));
        Assert.That(ex!.Message, Does.Contain("'llama3' needs 'factor'"));
    }

    [Test]
    public void Compute_Dynamic_ChangesOnlyBeyondMaxPositions()
    {
        var c = ModelConfig.Parse(ConfigSamples.Minimal("llama", "\"max_position_embeddings\": 100, \"rope_scaling\": {\"rope_type\": \"dynamic\", \"factor\": 2.0}"));
        var atInit = RopeFrequencies.Compute(c);
        TestUtil.AssertClose(atInit.InverseFrequencies, Enumerable.Range(0, 8).Select(i => Plain(10000, i, 16)).ToArray(), 1e-15, "at init");
        var longer = RopeFrequencies.Compute(c, sequenceLength: 300);
        // θ' = θ · (factor · len / max − (factor − 1))^(dim / (dim − 2)) = 10000 · 5^(16/14).
        double theta = 10000 * Math.Pow(5, 16.0 / 14);
        TestUtil.AssertClose(longer.InverseFrequencies, Enumerable.Range(0, 8).Select(i => Plain(theta, i, 16)).ToArray(), 1e-15, "at 300 tokens");
    }

    [Test]
    public void Compute_PartialRotary_UsesTheReducedDimension()
    {
        var rope = RopeFrequencies.Compute(ModelConfig.Parse(ConfigSamples.Phi3Partial));
        Assert.That(rope.RotaryDim, Is.EqualTo(96));
        Assert.That(rope.InverseFrequencies, Has.Length.EqualTo(48));
        // The exponent is rounded to float32 as transformers does, so agreement with the exact formula is to float32 precision.
        TestUtil.AssertClose(rope.InverseFrequencies.Select((v, i) => v / Plain(10000, i, 96)).ToArray(),
            Enumerable.Repeat(1.0, 48).ToArray(), 1e-6, "ratio to the exact formula");
        Assert.That(rope.InverseFrequencies[47], Is.EqualTo(1.0 / Math.Pow(10000, (float)94 / 96)));
    }

    [Test]
    public void Compute_LongRopeWithoutItsFactors_NamesTheMissingKey()
    {
        var c = ModelConfig.Parse(ConfigSamples.Minimal("phi3", "\"rope_scaling\": {\"rope_type\": \"longrope\", \"factor\": 4.0}"));
        var ex = Assert.Throws<CheckpointException>(() => RopeFrequencies.Compute(c));
        Assert.That(ex!.Message, Does.Contain("'longrope' needs 'short_factor'"));
    }

    [Test]
    public void Compute_UnknownType_ThrowsNotSupported()
    {
        var c = ModelConfig.Parse(ConfigSamples.Minimal("llama", "\"rope_scaling\": {\"rope_type\": \"mystery\"}"));
        var ex = Assert.Throws<NotSupportedException>(() => RopeFrequencies.Compute(c));
        Assert.That(ex!.Message, Does.Contain("'mystery' is not supported"));
    }
}
