using MLNetLora.Training.Schedules;

namespace MLNetLora.Tests.Training;

/// <summary>
/// constant, constant_with_warmup, linear, cosine and cosine_with_restarts against the formulas of
/// transformers' optimization.py, at step 0, mid-warmup, the first step after warmup, mid-decay and
/// the last step of a 100-step run with 10 warmup steps.
/// </summary>
public class WarmupDecayScheduleTests
{
    private const double Peak = 1e-3;
    private const long Total = 100, Warmup = 10;

    private static ILearningRateSchedule Make(ScheduleKind kind, double? cycles = null) => LearningRateSchedules.Create(new ScheduleOptions
    {
        Kind = kind, LearningRate = Peak, TotalSteps = Total, WarmupSteps = Warmup, NumCycles = cycles,
    });

    [Test]
    public void Constant_AnyStep_IsPeakAndIgnoresWarmup()
    {
        var s = Make(ScheduleKind.Constant);
        ScheduleAssert.Rates(s, (0, Peak), (5, Peak), (10, Peak), (55, Peak), (99, Peak));
        Assert.That(s.Options.WarmupSteps, Is.Zero);
    }

    [Test]
    public void ConstantWithWarmup_KeyPoints_MatchFormula()
    {
        ScheduleAssert.Rates(Make(ScheduleKind.ConstantWithWarmup),
            (0, 0.0), (5, Peak * 5 / 10), (9, Peak * 9 / 10), (10, Peak), (55, Peak), (99, Peak));
    }

    [Test]
    public void Linear_KeyPoints_MatchFormula()
    {
        // After warmup: peak * (total - step) / (total - warmup).
        ScheduleAssert.Rates(Make(ScheduleKind.Linear),
            (0, 0.0), (5, Peak * 0.5), (10, Peak), (55, Peak * 45.0 / 90), (99, Peak * 1.0 / 90), (100, 0.0), (120, 0.0));
    }

    [Test]
    public void Cosine_KeyPoints_MatchFormula()
    {
        static double Decay(long s) => Peak * 0.5 * (1 + Math.Cos(Math.PI * (s - Warmup) / (Total - Warmup)));
        ScheduleAssert.Rates(Make(ScheduleKind.Cosine),
            (0, 0.0), (5, Peak * 0.5), (10, Peak), (55, Peak * 0.5), (70, Decay(70)), (99, Decay(99)), (100, 0.0));
    }

    [Test]
    public void Cosine_PastTheEnd_FollowsTheWaveLikeTransformers()
    {
        // transformers does not clamp progress for plain cosine, so the half wave turns back up.
        var s = Make(ScheduleKind.Cosine);
        double p = (118.0 - Warmup) / (Total - Warmup);
        ScheduleAssert.Rates(s, (118, Peak * 0.5 * (1 + Math.Cos(Math.PI * p))));
        Assert.That(s.LearningRate(118), Is.GreaterThan(s.LearningRate(100)));
    }

    [Test]
    public void Cosine_FullWave_ReturnsToPeakAtTheEnd()
    {
        static double Expected(long s) => Peak * 0.5 * (1 + Math.Cos(2 * Math.PI * (s - Warmup) / (Total - Warmup)));
        ScheduleAssert.Rates(Make(ScheduleKind.Cosine, cycles: 1.0),
            (0, 0.0), (5, Peak * 0.5), (10, Peak), (55, Expected(55)), (99, Expected(99)), (100, Peak));
    }

    [Test]
    public void CosineWithRestarts_KeyPoints_MatchFormula()
    {
        // Three cycles over 90 decay steps: each restart begins every 30 steps at the peak.
        static double InCycle(long s) => Peak * 0.5 * (1 + Math.Cos(Math.PI * ((s - Warmup) % 30) / 30.0));
        ScheduleAssert.Rates(Make(ScheduleKind.CosineWithRestarts, cycles: 3),
            (0, 0.0), (5, Peak * 0.5), (10, Peak), (25, Peak * 0.5), (55, InCycle(55)), (99, InCycle(99)), (100, 0.0), (130, 0.0));
    }

    [Test]
    public void CosineWithRestarts_CycleBoundary_RestartsAtPeak()
    {
        var s = Make(ScheduleKind.CosineWithRestarts, cycles: 3);
        Assert.Multiple(() =>
        {
            foreach (long restart in new long[] { 40, 70 })
            {
                Assert.That(s.LearningRate(restart), Is.EqualTo(Peak).Within(1e-10).Percent, $"restart at {restart}");
                Assert.That(s.LearningRate(restart - 1), Is.LessThan(Peak * 0.01), $"bottom before {restart}");
            }
        });
    }

    [Test]
    public void CosineWithRestarts_DefaultCycles_IsOneHalfCosine()
    {
        var restarts = Make(ScheduleKind.CosineWithRestarts);
        var cosine = Make(ScheduleKind.Cosine);
        Assert.That(restarts.Options.NumCycles, Is.EqualTo(1.0));
        for (long step = 0; step < Total; step++)
            Assert.That(restarts.LearningRate(step), Is.EqualTo(cosine.LearningRate(step)).Within(1e-10).Percent, $"step {step}");
    }

    [Test]
    public void LearningRate_NegativeStep_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Make(ScheduleKind.Cosine).LearningRate(-1));
    }

    [Test]
    public void Linear_WarmupLongerThanRun_StaysAtZeroAfterWarmup()
    {
        // transformers' max(0, ...) with max(1, total - warmup) in the denominator.
        var s = LearningRateSchedules.Create(new ScheduleOptions { Kind = ScheduleKind.Linear, LearningRate = Peak, TotalSteps = 10, WarmupSteps = 20 });
        ScheduleAssert.Rates(s, (0, 0.0), (10, Peak * 10 / 20), (19, Peak * 19 / 20), (20, 0.0), (25, 0.0));
    }
}
