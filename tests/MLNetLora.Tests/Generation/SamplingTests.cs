using MLNetLora.LibTorch;
using MLNetLora.Models.Generation;
using MLNetLora.Models.Hub;

namespace MLNetLora.Tests.Generation;

/// <summary>Seeded sampling on the llama fixture, and the sampling filters' distributions on fixed logits.</summary>
public class SamplingTests
{
    private static readonly int[] Prompt = [1394, 29, 481, 756, 315, 344, 261, 293];

    private PretrainedModel pm = null!;
    private TextGenerator generator = null!;

    [OneTimeSetUp]
    public void Load()
    {
        pm = PretrainedModel.Load(TestPaths.Fixture("llama"));
        generator = TextGenerator.FromPretrained(pm);
    }

    [OneTimeTearDown]
    public void Free() => pm.Dispose();

    private IReadOnlyList<int> Run(GenerationOptions options) => generator.Generate([Prompt, Prompt[..5]], options)[0].NewTokenIds;

    [Test]
    public void Generate_SameSeed_GivesSameTokens()
    {
        var options = GenerationOptions.Sampling(16, seed: 7, temperature: 1.3, topK: 0);
        var first = Run(options);
        var second = Run(options);
        Assert.That(second, Is.EqualTo(first));
    }

    [Test]
    public void Generate_DifferentSeeds_GiveDifferentTokens()
    {
        var a = Run(GenerationOptions.Sampling(16, seed: 7, temperature: 1.3, topK: 0));
        var b = Run(GenerationOptions.Sampling(16, seed: 8, temperature: 1.3, topK: 0));
        Assert.That(a, Is.Not.EqualTo(b));
    }

    [Test]
    public void Generate_TopKOne_EqualsGreedy()
    {
        var greedy = Run(GenerationOptions.Greedy(12));
        Assert.That(Run(GenerationOptions.Sampling(12, seed: 3, temperature: 2.0, topK: 1)), Is.EqualTo(greedy));
    }

    [Test]
    public void Generate_TinyTopP_EqualsGreedy()
    {
        var greedy = Run(GenerationOptions.Greedy(12));
        Assert.That(Run(GenerationOptions.Sampling(12, seed: 4, temperature: 2.0, topK: 0, topP: 1e-6)), Is.EqualTo(greedy));
    }

    [Test]
    public void Generate_SampledBatch_EveryRowHasItsBudgetOrStops()
    {
        var results = generator.Generate([Prompt, Prompt[..3]], GenerationOptions.Sampling(9, seed: 5));
        foreach (var r in results)
        {
            if (r.FinishReason == FinishReason.Length) Assert.That(r.NewTokenIds, Has.Count.EqualTo(9));
            else Assert.That(r.NewTokenIds[^1], Is.EqualTo(1));
            Assert.That(r.NewTokenIds, Has.All.InRange(0, 2047));
        }
    }

    // 20000 rows of the same logits, one draw each, against the filtered and renormalised distribution.
    private static double[] Frequencies(double[] probs, GenerationOptions options, ulong seed)
    {
        const int rows = 20000;
        var logits = new double[rows * probs.Length];
        for (int r = 0; r < rows; r++)
            for (int v = 0; v < probs.Length; v++) logits[r * probs.Length + v] = Math.Log(probs[v]) + 0.25;
        using var t = Tensor.FromArray(logits, rows, probs.Length);
        var history = Enumerable.Range(0, rows).Select(_ => new List<int>()).ToArray();
        var picks = TokenSelector.Select(t, options, history, new Generator(seed));
        var freq = new double[probs.Length];
        foreach (long p in picks) freq[p] += 1.0 / rows;
        return freq;
    }

    private static readonly double[] Probs = [0.1, 0.4, 0.05, 0.3, 0.15];

    [Test]
    public void Select_NoFilter_SamplesTheSoftmax()
    {
        var f = Frequencies(Probs, GenerationOptions.Sampling(1, 0, topK: 0), 11);
        Assert.That(f, Is.EqualTo(Probs).Within(0.012));
    }

    [Test]
    public void Select_TopK3_SamplesOnlyTheThreeMostLikelyRenormalised()
    {
        var f = Frequencies(Probs, GenerationOptions.Sampling(1, 0, topK: 3), 12);
        Assert.That(f, Is.EqualTo(new[] { 0, 0.4 / 0.85, 0, 0.3 / 0.85, 0.15 / 0.85 }).Within(0.012));
    }

    [Test]
    public void Select_TopP_KeepsTokensUntilTheMassAboveReachesP()
    {
        // Sorted: 0.4, 0.3, 0.15, 0.1, 0.05. Mass above each: 0, 0.4, 0.7, 0.85 — top_p 0.75 keeps three.
        var f = Frequencies(Probs, GenerationOptions.Sampling(1, 0, topK: 0, topP: 0.75), 13);
        Assert.That(f, Is.EqualTo(new[] { 0, 0.4 / 0.85, 0, 0.3 / 0.85, 0.15 / 0.85 }).Within(0.012));
    }

    [Test]
    public void Select_Temperature_SharpensTheDistribution()
    {
        // Temperature 0.5 squares the probabilities before renormalising.
        double z = Probs.Sum(p => p * p);
        var f = Frequencies(Probs, GenerationOptions.Sampling(1, 0, temperature: 0.5, topK: 0), 14);
        Assert.That(f, Is.EqualTo(Probs.Select(p => p * p / z).ToArray()).Within(0.012));
    }

    [Test]
    public void Select_RepetitionPenalty_DividesPositiveAndMultipliesNegativeSeenLogitsOnce()
    {
        using var logits = Tensor.FromArray(new[] { 2.0, 1.5, -1.0, -0.6, -0.8, -1.0, 2.0, 0.8, -1.0 }, 3, 3);
        List<int>[] history = [[0], [0], [0, 0, 2]];
        Assert.That(TokenSelector.Select(logits, new GenerationOptions(), history, null), Is.EqualTo(new long[] { 0, 0, 0 }));
        var picks = TokenSelector.Select(logits, new GenerationOptions { RepetitionPenalty = 2.0 }, history, null);
        // Row 0: 2.0 / 2 = 1.0 loses to 1.5. Row 1: -0.6 * 2 = -1.2 loses to -0.8 (dividing would have kept it
        // first). Row 2: token 0 appears twice but is penalised once, 1.0 still beats 0.8.
        Assert.That(picks, Is.EqualTo(new long[] { 1, 1, 0 }));
    }
}
