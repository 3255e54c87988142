using MLNetLora.Training.Schedules;

namespace MLNetLora.Tests.Training;

/// <summary>one_cycle against PyTorch OneCycleLR's documented phases and annealing functions.</summary>
public class OneCycleScheduleTests
{
    private const double MaxLr = 1e-3;
    private const long Total = 100;

    private static ILearningRateSchedule Make(OneCycleOptions? o = null) => LearningRateSchedules.Create(new ScheduleOptions
    {
        Kind = ScheduleKind.OneCycle, LearningRate = MaxLr, TotalSteps = Total, OneCycle = o ?? new OneCycleOptions(),
    });

    private static double Cos(double start, double end, double pct) => end + (start - end) / 2 * (Math.Cos(Math.PI * pct) + 1);

    [Test]
    public void OneCycle_Defaults_KeyPointsMatchPyTorchFormula()
    {
        double initial = MaxLr / 25, min = initial / 1e4;
        double upEnd = 0.3 * Total - 1, downEnd = Total - 1;
        ScheduleAssert.Rates(Make(),
            (0, initial),
            (15, Cos(initial, MaxLr, 15 / upEnd)),
            (29, Cos(initial, MaxLr, 29 / upEnd)),
            (64, Cos(MaxLr, min, (64 - upEnd) / (downEnd - upEnd))),
            (99, min),
            (100, Cos(MaxLr, min, (100 - upEnd) / (downEnd - upEnd))));
        Assert.That(Make().LearningRate(29), Is.EqualTo(MaxLr).Within(1e-10).Percent, "the peak is reached at the end of the rise");
    }

    [Test]
    public void OneCycle_ThreePhase_ReturnsToStartBeforeAnnihilating()
    {
        var o = new OneCycleOptions { ThreePhase = true, DivFactor = 10, FinalDivFactor = 100 };
        double initial = MaxLr / 10, min = initial / 100;
        double e1 = 0.3 * Total - 1, e2 = 2 * 0.3 * Total - 2, e3 = Total - 1;
        ScheduleAssert.Rates(Make(o),
            (0, initial), (15, Cos(initial, MaxLr, 15 / e1)), (29, Cos(initial, MaxLr, 29 / e1)),
            (45, Cos(MaxLr, initial, (45 - e1) / (e2 - e1))), (58, Cos(MaxLr, initial, (58 - e1) / (e2 - e1))),
            (80, Cos(initial, min, (80 - e2) / (e3 - e2))), (99, min));
    }

    [Test]
    public void OneCycle_LinearAnneal_IsStraightLines()
    {
        double initial = MaxLr / 25, min = initial / 1e4, upEnd = 0.3 * Total - 1;
        var s = Make(new OneCycleOptions { Anneal = OneCycleAnneal.Linear });
        ScheduleAssert.Rates(s,
            (0, initial), (10, initial + (MaxLr - initial) * (10 / upEnd)),
            (64, MaxLr + (min - MaxLr) * ((64 - upEnd) / (99 - upEnd))),
            // PyTorch's linear form cancels catastrophically at pct = 1, so the last rate is min only to ~1e-11.
            (99, (min - MaxLr) * 1.0 + MaxLr));
        Assert.That(s.LearningRate(99), Is.EqualTo(min).Within(1e-6).Percent);
    }

    [Test]
    public void OneCycle_PastTotalPlusOne_Throws()
    {
        var s = Make();
        Assert.DoesNotThrow(() => s.LearningRate(Total));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.LearningRate(Total + 1));
    }

    [Test]
    public void OneCycle_ZeroLengthRise_ThrowsBeforeTraining()
    {
        // 0.1 * 10 - 1 == 0: PyTorch would divide 0 by 0 at step 0.
        var ex = Assert.Throws<ArgumentException>(() => LearningRateSchedules.Create(new ScheduleOptions
        {
            Kind = ScheduleKind.OneCycle, LearningRate = MaxLr, TotalSteps = 10, OneCycle = new OneCycleOptions { PctStart = 0.1 },
        }));
        Assert.That(ex!.Message, Does.Contain("pct_start"));
    }

    [Test]
    public void OneCycle_WarmupOptions_AreIgnored()
    {
        var plain = Make();
        var withWarmup = LearningRateSchedules.Create(plain.Options with { WarmupSteps = 20 });
        Assert.That(withWarmup.Options.WarmupSteps, Is.Zero);
        for (long step = 0; step < Total; step++)
            Assert.That(withWarmup.LearningRate(step), Is.EqualTo(plain.LearningRate(step)), $"step {step}");
    }
}
