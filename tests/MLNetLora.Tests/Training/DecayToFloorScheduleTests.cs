using MLNetLora.Training.Schedules;

namespace MLNetLora.Tests.Training;

/// <summary>
/// polynomial, inverse_sqrt, cosine_with_min_lr and warmup_stable_decay against the formulas of
/// transformers' optimization.py, at step 0, mid-warmup, the first step after warmup, mid-decay and
/// the last step.
/// </summary>
public class DecayToFloorScheduleTests
{
    private const double Peak = 1e-3;
    private const long Total = 100, Warmup = 10;

    private static ScheduleOptions Base(ScheduleKind kind) => new()
    {
        Kind = kind, LearningRate = Peak, TotalSteps = Total, WarmupSteps = Warmup,
    };

    [Test]
    public void Polynomial_KeyPoints_MatchFormula()
    {
        const double end = 1e-5, power = 2.0;
        var s = LearningRateSchedules.Create(Base(ScheduleKind.Polynomial) with { PolynomialEndRate = end, PolynomialPower = power });
        static double Decay(long step) => (Peak - end) * Math.Pow(1 - (step - Warmup) / 90.0, power) + end;
        ScheduleAssert.Rates(s, (0, 0.0), (5, Peak * 0.5), (10, Peak), (55, (Peak - end) * 0.25 + end), (99, Decay(99)), (100, end), (150, end));
    }

    [Test]
    public void Polynomial_Defaults_AreLinearToOneTenthMicro()
    {
        var s = LearningRateSchedules.Create(Base(ScheduleKind.Polynomial));
        Assert.That(s.Options.PolynomialPower, Is.EqualTo(1.0));
        Assert.That(s.Options.PolynomialEndRate, Is.EqualTo(1e-7));
        ScheduleAssert.Rates(s, (55, (Peak - 1e-7) * 0.5 + 1e-7), (100, 1e-7));
    }

    [Test]
    public void Polynomial_EndRateNotBelowPeak_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => LearningRateSchedules.Create(Base(ScheduleKind.Polynomial) with { PolynomialEndRate = Peak }));
        Assert.That(ex!.Message, Does.Contain("end rate"));
    }

    [Test]
    public void InverseSqrt_DefaultTimescale_IsWarmup()
    {
        var s = LearningRateSchedules.Create(Base(ScheduleKind.InverseSqrt));
        Assert.That(s.Options.Timescale, Is.EqualTo(Warmup));
        // With timescale == warmup the shift is 0: peak / sqrt(step / warmup).
        ScheduleAssert.Rates(s, (0, 0.0), (5, Peak * 0.5), (10, Peak), (40, Peak / 2), (55, Peak / Math.Sqrt(5.5)), (99, Peak / Math.Sqrt(9.9)));
    }

    [Test]
    public void InverseSqrt_ExplicitTimescale_ShiftsTheDecay()
    {
        var s = LearningRateSchedules.Create(Base(ScheduleKind.InverseSqrt) with { Timescale = 50 });
        static double Decay(long step) => Peak / Math.Sqrt((step + 50 - Warmup) / 50.0);
        ScheduleAssert.Rates(s, (0, 0.0), (5, Peak * 0.5), (10, Peak), (55, Decay(55)), (99, Decay(99)), (160, Peak / 2));
    }

    [Test]
    public void InverseSqrt_NoWarmup_UsesTenThousandStepTimescale()
    {
        var s = LearningRateSchedules.Create(new ScheduleOptions { Kind = ScheduleKind.InverseSqrt, LearningRate = Peak });
        Assert.That(s.Options.Timescale, Is.EqualTo(10_000));
        ScheduleAssert.Rates(s, (0, Peak), (30_000, Peak / 2));
    }

    [Test]
    public void CosineWithMinRate_AbsoluteFloor_MatchesFormula()
    {
        const double floor = 1e-4;
        var s = LearningRateSchedules.Create(Base(ScheduleKind.CosineWithMinRate) with { MinRate = floor });
        static double Decay(long step) => floor + (Peak - floor) * 0.5 * (1 + Math.Cos(Math.PI * (step - Warmup) / 90.0));
        ScheduleAssert.Rates(s, (0, 0.0), (5, Peak * 0.5), (10, Peak), (55, (Peak + floor) / 2), (99, Decay(99)), (100, floor));
        Assert.That(s.Options.MinRateRatio, Is.EqualTo(floor / Peak));
        Assert.That(s.Options.MinRate, Is.Null);
    }

    [Test]
    public void CosineWithMinRate_RatioFloor_EqualsAbsoluteFloor()
    {
        var byRatio = LearningRateSchedules.Create(Base(ScheduleKind.CosineWithMinRate) with { MinRateRatio = 0.1 });
        ScheduleAssert.Rates(byRatio, (100, Peak * 0.1), (55, Peak * 0.55));
    }

    [Test]
    public void CosineWithMinRate_NoFloorOrBoth_Throws()
    {
        Assert.Throws<ArgumentException>(() => LearningRateSchedules.Create(Base(ScheduleKind.CosineWithMinRate)));
        Assert.Throws<ArgumentException>(() => LearningRateSchedules.Create(Base(ScheduleKind.CosineWithMinRate) with { MinRate = 1e-4, MinRateRatio = 0.1 }));
    }

    [Test]
    public void WarmupStableDecay_KeyPoints_MatchFormula()
    {
        // 10 warmup, 70 stable (100 - 10 - 20), 20 decay; both ramps blend with the 0.1 floor.
        const double m = 0.1;
        var s = LearningRateSchedules.Create(Base(ScheduleKind.WarmupStableDecay) with { DecaySteps = 20, MinRateRatio = m });
        static double Blend(double f) => Peak * (f * (1 - m) + m);
        static double Decay(long step) => Blend(0.5 * (1 + Math.Cos(Math.PI * (step - 80) / 20.0)));
        ScheduleAssert.Rates(s,
            (0, Peak * m), (5, Blend(0.5)), (10, Peak), (50, Peak), (79, Peak),
            (80, Peak), (90, Blend(0.5)), (99, Decay(99)), (100, Peak * m), (200, Peak * m));
        Assert.That(s.Options.StableSteps, Is.EqualTo(70));
    }

    [TestCase(DecayShape.Linear)]
    [TestCase(DecayShape.OneMinusSqrt)]
    public void WarmupStableDecay_DecayShapes_MatchFormula(DecayShape shape)
    {
        var s = LearningRateSchedules.Create(Base(ScheduleKind.WarmupStableDecay) with { DecaySteps = 20, DecayShape = shape });
        double Expected(long step)
        {
            double p = (step - 80) / 20.0;
            return Peak * (shape == DecayShape.Linear ? 1 - p : 1 - Math.Sqrt(p));
        }
        ScheduleAssert.Rates(s, (0, 0.0), (80, Peak), (85, Expected(85)), (90, Expected(90)), (99, Expected(99)), (100, 0.0));
    }

    [TestCase(WarmupShape.Cosine)]
    [TestCase(WarmupShape.OneMinusSqrt)]
    public void WarmupStableDecay_WarmupShapes_MatchFormula(WarmupShape shape)
    {
        var s = LearningRateSchedules.Create(Base(ScheduleKind.WarmupStableDecay) with { DecaySteps = 20, WarmupShape = shape });
        double Expected(long step)
        {
            double p = step / 10.0;
            return Peak * (shape == WarmupShape.Cosine ? 0.5 * (1 - Math.Cos(Math.PI * p)) : 1 - Math.Sqrt(1 - p));
        }
        ScheduleAssert.Rates(s, (0, 0.0), (3, Expected(3)), (5, Expected(5)), (9, Expected(9)), (10, Peak));
    }

    [Test]
    public void WarmupStableDecay_ExplicitStableSteps_LeaveFloorAfterwards()
    {
        var s = LearningRateSchedules.Create(Base(ScheduleKind.WarmupStableDecay) with { DecaySteps = 20, StableSteps = 30, MinRateRatio = 0.2 });
        ScheduleAssert.Rates(s, (39, Peak), (50, Peak * (0.5 * 0.8 + 0.2)), (60, Peak * 0.2), (99, Peak * 0.2));
    }

    [Test]
    public void WarmupStableDecay_MissingDecayOrTooLong_Throws()
    {
        Assert.Throws<ArgumentException>(() => LearningRateSchedules.Create(Base(ScheduleKind.WarmupStableDecay)));
        var ex = Assert.Throws<ArgumentException>(() => LearningRateSchedules.Create(Base(ScheduleKind.WarmupStableDecay) with { DecaySteps = 95 }));
        Assert.That(ex!.Message, Does.Contain("stable phase"));
    }
}
