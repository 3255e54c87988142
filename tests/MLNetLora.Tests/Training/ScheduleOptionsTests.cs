using System.Text.Json;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Tests.Training;

/// <summary>Warmup resolution and shapes, name parsing, serialization and validation of schedule options.</summary>
public class ScheduleOptionsTests
{
    [TestCase(100, 0.07)]
    [TestCase(12, 0.1)]
    [TestCase(1000, 0.03)]
    [TestCase(333, 0.05)]
    [TestCase(50, 0.0)]
    public void WarmupStepsFromRatio_AnyRatio_RoundsUpLikeTransformers(long total, double ratio)
    {
        // transformers: math.ceil(num_training_steps * warmup_ratio), evaluated in doubles.
        long expected = (long)Math.Ceiling(total * ratio);
        Assert.That(LearningRateSchedules.WarmupStepsFromRatio(total, ratio), Is.EqualTo(expected));
        var resolved = LearningRateSchedules.Resolve(new ScheduleOptions { LearningRate = 1e-3, TotalSteps = total, WarmupRatio = ratio });
        Assert.That(resolved.WarmupSteps, Is.EqualTo(expected));
        Assert.That(resolved.WarmupRatio, Is.Null);
    }

    [Test]
    public void WarmupStepsFromRatio_FloatingPointOvershoot_RoundsUp()
    {
        // 100 * 0.07 is 7.000000000000001 in doubles, so transformers warms up for 8 steps, not 7.
        Assert.That(100 * 0.07, Is.GreaterThan(7.0));
        Assert.That(LearningRateSchedules.WarmupStepsFromRatio(100, 0.07), Is.EqualTo(8));
    }

    [Test]
    public void Resolve_WarmupStepsAndRatio_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            LearningRateSchedules.Resolve(new ScheduleOptions { LearningRate = 1e-3, TotalSteps = 100, WarmupSteps = 5, WarmupRatio = 0.1 }));
        Assert.That(ex!.Message, Does.Contain("not both"));
    }

    [Test]
    public void ExponentialWarmup_KeyPoints_GrowGeometricallyToPeak()
    {
        const double peak = 2e-4, start = 0.01;
        var s = LearningRateSchedules.Create(new ScheduleOptions
        {
            Kind = ScheduleKind.Cosine, LearningRate = peak, TotalSteps = 100, WarmupSteps = 10,
            WarmupShape = WarmupShape.Exponential, ExponentialWarmupStart = start,
        });
        ScheduleAssert.Rates(s, (0, peak * start), (5, peak * Math.Sqrt(start)), (9, peak * Math.Pow(start, 0.1)), (10, peak));
        double ratio = s.LearningRate(1) / s.LearningRate(0);
        Assert.That(ratio, Is.EqualTo(Math.Pow(1 / start, 0.1)).Within(1e-10).Percent);
        for (long step = 1; step < 10; step++)
            Assert.That(s.LearningRate(step + 1) / s.LearningRate(step), Is.EqualTo(ratio).Within(1e-9).Percent, $"step {step}");
    }

    [TestCase(0.0)]
    [TestCase(1.0)]
    public void ExponentialWarmup_StartOutsideOpenUnitInterval_Throws(double start)
    {
        Assert.Throws<ArgumentException>(() => LearningRateSchedules.Create(new ScheduleOptions
        {
            LearningRate = 1e-3, TotalSteps = 100, WarmupSteps = 10, WarmupShape = WarmupShape.Exponential, ExponentialWarmupStart = start,
        }));
    }

    [Test]
    public void Parse_EveryCanonicalName_RoundTrips()
    {
        foreach (string name in ScheduleKindNames.All)
            Assert.That(ScheduleKindNames.ToName(ScheduleKindNames.Parse(name)), Is.EqualTo(name));
        Assert.That(ScheduleKindNames.All, Has.Count.EqualTo(Enum.GetValues<ScheduleKind>().Length));
    }

    [TestCase("COSINE-WITH-RESTARTS", ScheduleKind.CosineWithRestarts)]
    [TestCase("reduce_lr_on_plateau", ScheduleKind.ReduceOnPlateau)]
    [TestCase(" wsd ", ScheduleKind.WarmupStableDecay)]
    [TestCase("one_cycle", ScheduleKind.OneCycle)]
    public void Parse_AliasesAndSpelling_Accepted(string name, ScheduleKind expected)
    {
        Assert.That(ScheduleKindNames.Parse(name), Is.EqualTo(expected));
    }

    [Test]
    public void Parse_UnknownName_ListsKnownNames()
    {
        var ex = Assert.Throws<FormatException>(() => ScheduleKindNames.Parse("cosine_annealing"));
        Assert.That(ex!.Message, Does.Contain("cosine_with_restarts").And.Contain("one_cycle"));
        Assert.That(ScheduleKindNames.TryParse(null, out _), Is.False);
    }

    private static IEnumerable<ScheduleOptions> EveryKind()
    {
        var common = new ScheduleOptions { LearningRate = 3e-4, TotalSteps = 60, WarmupRatio = 0.1, WarmupShape = WarmupShape.Exponential };
        yield return common with { Kind = ScheduleKind.Constant };
        yield return common with { Kind = ScheduleKind.ConstantWithWarmup };
        yield return common with { Kind = ScheduleKind.Linear };
        yield return common with { Kind = ScheduleKind.Cosine, NumCycles = 0.75 };
        yield return common with { Kind = ScheduleKind.CosineWithRestarts, NumCycles = 2 };
        yield return common with { Kind = ScheduleKind.Polynomial, PolynomialPower = 1.5, PolynomialEndRate = 1e-6 };
        yield return common with { Kind = ScheduleKind.InverseSqrt };
        yield return common with { Kind = ScheduleKind.CosineWithMinRate, MinRate = 3e-5 };
        yield return common with { Kind = ScheduleKind.WarmupStableDecay, DecaySteps = 12, MinRate = 1e-5, DecayShape = DecayShape.OneMinusSqrt };
        yield return common with { Kind = ScheduleKind.OneCycle, OneCycle = new OneCycleOptions { PctStart = 0.25, ThreePhase = true } };
        yield return common with { Kind = ScheduleKind.ReduceOnPlateau, Plateau = new ReduceOnPlateauOptions { Patience = 3, Factor = 0.5 } };
    }

    [TestCaseSource(nameof(EveryKind))]
    public void Options_JsonRoundTrip_RebuildsTheSameCurve(ScheduleOptions options)
    {
        var original = LearningRateSchedules.Create(options);
        string json = JsonSerializer.Serialize(original.Options);
        Assert.That(json, Does.Contain($"\"{ScheduleKindNames.ToName(options.Kind)}\""));
        var restored = JsonSerializer.Deserialize<ScheduleOptions>(json)!;
        Assert.That(restored, Is.EqualTo(original.Options));
        Assert.That(LearningRateSchedules.Resolve(restored), Is.EqualTo(restored), "resolving a resolved record changes nothing");
        var rebuilt = LearningRateSchedules.Create(restored);
        for (long step = 0; step <= options.TotalSteps; step++)
            Assert.That(rebuilt.LearningRate(step), Is.EqualTo(original.LearningRate(step)), $"step {step}");
    }

    [Test]
    public void Resolve_DecayingKindWithoutTotal_Throws()
    {
        foreach (var kind in new[] { ScheduleKind.Linear, ScheduleKind.Cosine, ScheduleKind.Polynomial, ScheduleKind.OneCycle })
            Assert.Throws<ArgumentException>(() => LearningRateSchedules.Create(new ScheduleOptions { Kind = kind, LearningRate = 1e-3 }), kind.ToString());
    }

    [TestCase(0.0)]
    [TestCase(-1e-4)]
    [TestCase(double.NaN)]
    public void Resolve_BadPeak_Throws(double peak)
    {
        Assert.Throws<ArgumentException>(() => LearningRateSchedules.Create(new ScheduleOptions { LearningRate = peak, TotalSteps = 10 }));
    }
}
