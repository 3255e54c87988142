using MLNetLora.Training.Watchdog;

namespace MLNetLora.Tests.Training;

/// <summary>The loss watchdog on planted anomalies and on healthy curves.</summary>
public class LossWatchdogTests
{
    private const double Lr = 1e-3;

    /// <summary>Feeds <paramref name="steps"/> healthy noisy steps and asserts each one is accepted.</summary>
    private static void WarmUp(LossWatchdog dog, long steps, double level = 2.1, double noise = 0.02, int seed = 7)
    {
        var rng = new SyntheticLoss(seed);
        for (long s = 0; s < steps; s++)
        {
            var d = dog.Observe(new StepObservation(s, level * (1 + noise * rng.Normal()), 0.8, Lr));
            Assert.That(d.Action, Is.EqualTo(WatchdogAction.Continue), $"healthy step {s}");
        }
    }

    [Test]
    public void Observe_PlantedSpike_SkipsAndAdvisesLowerRate()
    {
        var dog = new LossWatchdog();
        WarmUp(dog, 100);
        var d = dog.Observe(new StepObservation(100, 9.8, 4.0, Lr));
        Assert.That(d.Action, Is.EqualTo(WatchdogAction.SkipUpdate));
        Assert.That(d.Events, Has.Count.EqualTo(1));
        var ev = d.Events[0];
        Assert.That(ev.Kind, Is.EqualTo(WatchdogEventKind.LossSpike));
        Assert.That(ev.ZScore, Is.GreaterThan(dog.Options.ZThreshold));
        Assert.That(ev.Step, Is.EqualTo(100));
        Assert.That(ev.WindowMean, Is.EqualTo(2.1).Within(0.05));
        Assert.That(d.Message, Does.Contain("loss spiked from 2.1").And.Contain("to 9.8").And.Contain("lr 1e-3")
            .And.Contain("lower LearningRate to 3e-4 or add warmup"));
        Assert.That(dog.Events, Is.EqualTo(new[] { ev }));
    }

    [Test]
    public void Observe_NearZeroClassifierLoss_OneMissedRowIsNoSpike_ButARealJumpIs()
    {
        // A classifier that is mostly right: batch losses around 0.01 with tiny spread.
        var dog = new LossWatchdog();
        WarmUp(dog, 60, level: 0.01, noise: 0.3);
        // One misclassified row of four lifts the batch mean to ~0.15: normal for classification.
        Assert.That(dog.Observe(new StepObservation(60, 0.15, 0.9, Lr)).Action, Is.EqualTo(WatchdogAction.Continue));
        // A jump to chance level and beyond is still a spike.
        var d = dog.Observe(new StepObservation(61, 2.5, 9.0, Lr));
        Assert.That(d.Action, Is.EqualTo(WatchdogAction.SkipUpdate));
        Assert.That(d.Events[0].Kind, Is.EqualTo(WatchdogEventKind.LossSpike));
    }

    [Test]
    public void Observe_SpikeAfterSpike_WindowNotPolluted()
    {
        var dog = new LossWatchdog();
        WarmUp(dog, 60);
        var first = dog.Observe(new StepObservation(60, 6.0, 1.0, Lr));
        var second = dog.Observe(new StepObservation(61, 6.0, 1.0, Lr));
        Assert.That(second.Action, Is.EqualTo(WatchdogAction.SkipUpdate));
        // Had the first spike entered the window, the mean and std would have moved and z would drop sharply.
        Assert.That(second.Events[0].ZScore, Is.EqualTo(first.Events[0].ZScore));
        Assert.That(second.Events[0].WindowMean, Is.EqualTo(first.Events[0].WindowMean));
    }

    [Test]
    public void Observe_BeforeMinWindow_DoesNotJudgeSpikes()
    {
        var dog = new LossWatchdog(new WatchdogOptions { MinWindow = 20 });
        WarmUp(dog, 19);
        Assert.That(dog.Observe(new StepObservation(19, 50.0, 1.0, Lr)).Action, Is.EqualTo(WatchdogAction.Continue));
    }

    [Test]
    public void Observe_NaNLoss_SkipsWithAdvice()
    {
        var dog = new LossWatchdog();
        WarmUp(dog, 5);
        var d = dog.Observe(new StepObservation(5, double.NaN, double.NaN, Lr));
        Assert.That(d.Action, Is.EqualTo(WatchdogAction.SkipUpdate));
        Assert.That(d.Events[0].Kind, Is.EqualTo(WatchdogEventKind.NonFiniteLoss));
        Assert.That(d.Message, Does.Contain("loss is NaN at step 5").And.Contain("lower LearningRate to 3e-4"));
    }

    [Test]
    public void Observe_InfiniteGradNorm_IsAnAnomaly()
    {
        var dog = new LossWatchdog();
        var d = dog.Observe(new StepObservation(0, 2.0, double.PositiveInfinity, Lr));
        Assert.That(d.Action, Is.EqualTo(WatchdogAction.SkipUpdate));
        Assert.That(d.Events[0].Kind, Is.EqualTo(WatchdogEventKind.NonFiniteGradNorm));
    }

    [TestCase(WatchdogPolicy.SkipUpdate, WatchdogAction.SkipUpdate, 1.0)]
    [TestCase(WatchdogPolicy.RollbackAndLowerRate, WatchdogAction.RollbackAndLowerRate, 0.3)]
    [TestCase(WatchdogPolicy.Stop, WatchdogAction.Stop, 1.0)]
    public void Observe_EachPolicy_PicksItsAction(WatchdogPolicy policy, WatchdogAction action, double factor)
    {
        var dog = new LossWatchdog(new WatchdogOptions { Policy = policy });
        WarmUp(dog, 50);
        var spike = dog.Observe(new StepObservation(50, 20.0, 1.0, Lr));
        var nan = dog.Observe(new StepObservation(51, double.PositiveInfinity, 1.0, Lr));
        foreach (var d in new[] { spike, nan })
        {
            Assert.That(d.Action, Is.EqualTo(action));
            Assert.That(d.RateFactor, Is.EqualTo(factor));
            Assert.That(d.Message, Is.Not.Empty);
            Assert.That(d.Events[0].Action, Is.EqualTo(action));
        }
    }

    [Test]
    public void Observe_RepeatedAnomalies_StopsWhateverThePolicy()
    {
        var dog = new LossWatchdog(new WatchdogOptions { MaxConsecutiveAnomalies = 3 });
        WarmUp(dog, 30);
        Assert.That(dog.Observe(new StepObservation(30, double.NaN, 1, Lr)).Action, Is.EqualTo(WatchdogAction.SkipUpdate));
        Assert.That(dog.Observe(new StepObservation(31, 30.0, 1, Lr)).Action, Is.EqualTo(WatchdogAction.SkipUpdate));
        var third = dog.Observe(new StepObservation(32, double.NaN, 1, Lr));
        Assert.That(third.Action, Is.EqualTo(WatchdogAction.Stop));
        Assert.That(third.Events[0].Kind, Is.EqualTo(WatchdogEventKind.RepeatedAnomalies));
        Assert.That(third.Message, Does.Contain("3 anomalous steps in a row"));
    }

    [Test]
    public void Observe_HealthyStepBetweenAnomalies_ResetsTheCount()
    {
        var dog = new LossWatchdog(new WatchdogOptions { MaxConsecutiveAnomalies = 2 });
        WarmUp(dog, 30);
        Assert.That(dog.Observe(new StepObservation(30, double.NaN, 1, Lr)).Action, Is.EqualTo(WatchdogAction.SkipUpdate));
        Assert.That(dog.Observe(new StepObservation(31, 2.1, 1, Lr)).Action, Is.EqualTo(WatchdogAction.Continue));
        Assert.That(dog.Observe(new StepObservation(32, double.NaN, 1, Lr)).Action, Is.EqualTo(WatchdogAction.SkipUpdate));
    }

    [Test]
    public void Observe_FlatLossAtTinyRate_WarnsOnceThatRateIsTooLow()
    {
        var options = new WatchdogOptions { FlatWindow = 200 };
        var dog = new LossWatchdog(options);
        var rng = new SyntheticLoss(3);
        var warnings = new List<WatchdogEvent>();
        for (long s = 0; s < 500; s++)
        {
            var d = dog.Observe(new StepObservation(s, 2.5 * (1 + 0.002 * rng.Normal()), 0.01, 1e-7));
            Assert.That(d.Action, Is.EqualTo(WatchdogAction.Continue));
            warnings.AddRange(d.Events);
        }
        Assert.That(warnings, Has.Count.EqualTo(1));
        var w = warnings[0];
        Assert.That(w.Kind, Is.EqualTo(WatchdogEventKind.RateTooLow));
        Assert.That(w.Step, Is.EqualTo(options.FlatWindow - 1), "judged as soon as the window is full");
        Assert.That(w.RelativeChange, Is.LessThan(options.FlatRelativeChange));
        Assert.That(w.Message, Does.Contain("rate is probably too low").And.Contain("Raise LearningRate about 10x (to 1e-6)"));
    }

    [Test]
    public void Observe_FlatTailOfDecayedSchedule_DoesNotBlameTheRate()
    {
        var dog = new LossWatchdog(new WatchdogOptions { FlatWindow = 100 });
        var rng = new SyntheticLoss(5);
        for (long s = 0; s < 50; s++) dog.Observe(new StepObservation(s, 2.0 * (1 + 0.01 * rng.Normal()), 0.5, 2e-4));
        for (long s = 50; s < 400; s++)
        {
            var d = dog.Observe(new StepObservation(s, 1.2 * (1 + 0.001 * rng.Normal()), 0.1, 1e-8));
            Assert.That(d.Events, Is.Empty, $"step {s}");
        }
    }

    [Test]
    public void Observe_NormalNoisyDecreasingCurve_NoFalseAlarm()
    {
        var dog = new LossWatchdog();
        var rng = new SyntheticLoss(11);
        const long total = 3000;
        for (long s = 0; s < total; s++)
        {
            double lr = 2e-4 * 0.5 * (1 + Math.Cos(Math.PI * s / total));
            var d = dog.Observe(new StepObservation(s, rng.Decreasing(s), 0.5 + 0.1 * rng.Normal(), lr));
            Assert.That(d.Action, Is.EqualTo(WatchdogAction.Continue), $"step {s}: {d.Message}");
        }
        Assert.That(dog.Events, Is.Empty);
    }

    [Test]
    public void EventRaised_EveryEvent_IsDelivered()
    {
        var dog = new LossWatchdog();
        var seen = new List<WatchdogEvent>();
        dog.EventRaised += (_, e) => seen.Add(e);
        WarmUp(dog, 40);
        dog.Observe(new StepObservation(40, double.NaN, 1, Lr));
        dog.Observe(new StepObservation(41, 40.0, 1, Lr));
        Assert.That(seen, Is.EqualTo(dog.Events));
        Assert.That(seen, Has.Count.EqualTo(2));
    }

    [Test]
    public void SaveState_RestoredWatchdog_JudgesTheSameWay()
    {
        var dog = new LossWatchdog();
        WarmUp(dog, 80);
        var resumed = new LossWatchdog();
        resumed.RestoreState(dog.SaveState());
        var a = dog.Observe(new StepObservation(80, 7.0, 1, Lr));
        var b = resumed.Observe(new StepObservation(80, 7.0, 1, Lr));
        Assert.That(b.Action, Is.EqualTo(a.Action));
        Assert.That(b.Events[0].ZScore, Is.EqualTo(a.Events[0].ZScore));
        Assert.That(resumed.SaveState().History, Is.EqualTo(dog.SaveState().History));
    }

    [Test]
    public void Constructor_InvalidOptions_Throws()
    {
        Assert.Throws<ArgumentException>(() => new LossWatchdog(new WatchdogOptions { LowerRateFactor = 1.0 }));
        Assert.Throws<ArgumentException>(() => new LossWatchdog(new WatchdogOptions { MinWindow = 200, SpikeWindow = 100 }));
    }
}
