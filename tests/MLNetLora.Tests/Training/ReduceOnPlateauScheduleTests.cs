using System.Text.Json;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Tests.Training;

/// <summary>reduce_on_plateau against PyTorch ReduceLROnPlateau's documented rules, and its checkpoint state.</summary>
public class ReduceOnPlateauScheduleTests
{
    private const double Peak = 1e-3;

    private static ReduceOnPlateauSchedule Make(ReduceOnPlateauOptions p) => (ReduceOnPlateauSchedule)LearningRateSchedules.Create(new ScheduleOptions
    {
        Kind = ScheduleKind.ReduceOnPlateau, LearningRate = Peak, Plateau = p,
    });

    [Test]
    public void LearningRate_AnyStep_IsCurrentRate()
    {
        var s = Make(new ReduceOnPlateauOptions { Patience = 0, Factor = 0.5 });
        ScheduleAssert.Rates(s, (0, Peak), (5, Peak), (10, Peak), (55, Peak), (99, Peak));
        s.Report(1.0);
        s.Report(2.0);
        ScheduleAssert.Rates(s, (0, Peak * 0.5), (99, Peak * 0.5));
    }

    [Test]
    public void Report_MorePatienceThanBadReports_ReducesOnlyAfterPatience()
    {
        var s = Make(new ReduceOnPlateauOptions { Patience = 2, Factor = 0.5 });
        bool[] reduced = [s.Report(1.0), s.Report(1.0), s.Report(1.0), s.Report(1.0)];
        // The first report sets the baseline; the third bad report is the first beyond patience 2.
        bool[] expected = [false, false, false, true];
        Assert.That(reduced, Is.EqualTo(expected));
        Assert.That(s.CurrentRate, Is.EqualTo(Peak * 0.5));
    }

    [Test]
    public void Report_ImprovementSmallerThanRelativeThreshold_CountsAsBad()
    {
        var s = Make(new ReduceOnPlateauOptions { Patience = 1, Factor = 0.5, Threshold = 0.01 });
        s.Report(1.0);
        s.Report(0.995);        // needs < 1.0 * (1 - 0.01): bad 1
        s.Report(0.98);         // improvement: resets
        s.Report(0.975);        // needs < 0.98 * 0.99 = 0.9702: bad 1
        Assert.That(s.CurrentRate, Is.EqualTo(Peak));
        Assert.That(s.Report(0.975), Is.True, "bad 2 > patience 1");
        Assert.That(s.SaveState().Best, Is.EqualTo(0.98));
    }

    [Test]
    public void Report_Cooldown_IgnoresBadReportsAfterReduction()
    {
        var s = Make(new ReduceOnPlateauOptions { Patience = 0, Factor = 0.5, Cooldown = 2 });
        s.Report(1.0);
        Assert.That(s.Report(1.1), Is.True);
        Assert.That(s.Report(1.2), Is.False, "cooldown 2 -> 1");
        Assert.That(s.Report(1.3), Is.False, "cooldown 1 -> 0");
        Assert.That(s.Report(1.4), Is.True, "cooldown over");
        Assert.That(s.CurrentRate, Is.EqualTo(Peak * 0.25));
    }

    [Test]
    public void Report_RepeatedPlateaus_StopAtMinRate()
    {
        const double floor = 2e-5;
        var s = Make(new ReduceOnPlateauOptions { Patience = 0, Factor = 0.1, MinRate = floor });
        s.Report(1.0);
        Assert.That(s.Report(1.0), Is.True);
        Assert.That(s.CurrentRate, Is.EqualTo(Peak * 0.1).Within(1e-10).Percent);
        Assert.That(s.Report(1.0), Is.True);
        Assert.That(s.CurrentRate, Is.EqualTo(floor), "max(1e-5, floor)");
        Assert.That(s.Report(1.0), Is.False, "already at the floor");
        Assert.That(s.CurrentRate, Is.EqualTo(floor));
    }

    [Test]
    public void Report_DropNotAboveEps_IsNotApplied()
    {
        var s = (ReduceOnPlateauSchedule)LearningRateSchedules.Create(new ScheduleOptions
        {
            Kind = ScheduleKind.ReduceOnPlateau, LearningRate = 1e-7, Plateau = new ReduceOnPlateauOptions { Patience = 0, Factor = 0.1 },
        });
        s.Report(1.0);
        Assert.That(s.Report(1.0), Is.True, "1e-7 -> 1e-8 drops 9e-8 > eps 1e-8");
        Assert.That(s.Report(1.0), Is.False, "1e-8 -> 1e-9 drops 9e-9 <= eps");
        Assert.That(s.CurrentRate, Is.EqualTo(1e-7 * 0.1));
    }

    [Test]
    public void Report_MaxModeAbsoluteThreshold_ImprovesUpwards()
    {
        var s = Make(new ReduceOnPlateauOptions { Mode = PlateauMode.Max, ThresholdMode = PlateauThresholdMode.Absolute, Threshold = 0.05, Patience = 0, Factor = 0.5 });
        s.Report(0.50);
        Assert.That(s.Report(0.56), Is.False, "0.56 > 0.50 + 0.05");
        Assert.That(s.Report(0.60), Is.True, "0.60 is not > 0.56 + 0.05");
    }

    [Test]
    public void Report_NaN_CountsAsNoImprovement()
    {
        var s = Make(new ReduceOnPlateauOptions { Patience = 0, Factor = 0.5 });
        s.Report(1.0);
        Assert.That(s.Report(double.NaN), Is.True);
    }

    [Test]
    public void SaveState_JsonRoundTrip_ContinuesIdentically()
    {
        var options = new ReduceOnPlateauOptions { Patience = 2, Factor = 0.5, Cooldown = 1, Threshold = 0.01 };
        var original = Make(options);
        double[] before = [2.0, 1.9, 1.95, 1.92, 1.93, 1.91, 1.90];
        foreach (double v in before) original.Report(v);

        string json = JsonSerializer.Serialize(original.SaveState());
        var resumed = (ReduceOnPlateauSchedule)LearningRateSchedules.Create(
            JsonSerializer.Deserialize<ScheduleOptions>(JsonSerializer.Serialize(original.Options))!);
        resumed.RestoreState(JsonSerializer.Deserialize<ReduceOnPlateauState>(json)!);
        Assert.That(resumed.SaveState(), Is.EqualTo(original.SaveState()));

        double[] after = [1.89, 1.95, 1.96, 1.97, 1.80, 1.85, 1.86, 1.87, 1.88, 1.89];
        foreach (double v in after)
        {
            Assert.That(resumed.Report(v), Is.EqualTo(original.Report(v)), $"report {v}");
            Assert.That(resumed.CurrentRate, Is.EqualTo(original.CurrentRate), $"rate after {v}");
        }
        Assert.That(original.CurrentRate, Is.LessThan(Peak), "the sequence must exercise at least one reduction");
    }

    [Test]
    public void SaveState_BeforeAnyReport_HasNoBestAndSerializes()
    {
        var s = Make(new ReduceOnPlateauOptions());
        var state = s.SaveState();
        Assert.That(state.Best, Is.Null);
        var back = JsonSerializer.Deserialize<ReduceOnPlateauState>(JsonSerializer.Serialize(state))!;
        var fresh = Make(new ReduceOnPlateauOptions());
        fresh.RestoreState(back);
        Assert.That(fresh.Report(5.0), Is.EqualTo(s.Report(5.0)));
        Assert.That(fresh.SaveState(), Is.EqualTo(s.SaveState()));
    }

    [Test]
    public void RestoreState_InvalidRate_Throws()
    {
        var s = Make(new ReduceOnPlateauOptions());
        Assert.Throws<ArgumentException>(() => s.RestoreState(new ReduceOnPlateauState { LearningRate = 0 }));
        Assert.Throws<ArgumentException>(() => s.RestoreState(new ReduceOnPlateauState { LearningRate = 1e-3, BadReports = -1 }));
    }

    [TestCase(1.0)]
    [TestCase(0.0)]
    public void Create_FactorOutsideOpenUnitInterval_Throws(double factor)
    {
        Assert.Throws<ArgumentException>(() => Make(new ReduceOnPlateauOptions { Factor = factor }));
    }
}
