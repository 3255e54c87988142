using MLNetLora.Training.Defaults;
using MLNetLora.Training.LrFinder;

namespace MLNetLora.Tests.Training;

/// <summary>The learning-rate finder on synthetic loss-versus-rate curves with known shapes.</summary>
public class LearningRateFinderTests
{
    /// <summary>
    /// A typical range-test curve in x = log10(rate): flat at 3, a sigmoid descent of depth 2 centred on
    /// <paramref name="centre"/> (its steepest point), and an exponential blow-up past <paramref name="blowUp"/>.
    /// </summary>
    private static double Curve(double rate, double centre = -4, double width = 0.3, double blowUp = -2.5)
    {
        double x = Math.Log10(rate);
        return 1 + 2 / (1 + Math.Exp((x - centre) / width)) + Math.Exp(4 * (x - blowUp));
    }

    private static LrFinderResult Run(LearningRateFinder finder, Func<double, double> lossAt)
    {
        while (finder.Record(lossAt(finder.NextRate()))) { }
        return finder.Result;
    }

    [Test]
    public void NextRate_FullSweep_IsExponentialFromMinToMax()
    {
        var o = new LrFinderOptions { MinRate = 1e-6, MaxRate = 1e-2, Steps = 41 };
        var finder = new LearningRateFinder(o);
        var rates = new List<double>();
        do rates.Add(finder.NextRate()); while (finder.Record(1.0));
        Assert.That(rates, Has.Count.EqualTo(41));
        Assert.That(finder.Result.StopReason, Is.EqualTo(LrFinderStopReason.Completed));
        // min * (max/min)^(i/(n-1)): one decade every 10 steps here.
        for (int i = 0; i < rates.Count; i++)
            Assert.That(rates[i], Is.EqualTo(1e-6 * Math.Pow(10, i / 10.0)).Within(1e-10).Percent, $"step {i}");
    }

    [Test]
    public void Record_ConstantLoss_BiasCorrectionRemovesStartupPull()
    {
        var finder = new LearningRateFinder(new LrFinderOptions { SmoothingBeta = 0.9 });
        for (int i = 0; i < 10; i++) { finder.NextRate(); finder.Record(2.5); }
        foreach (var p in finder.Result.Curve)
            Assert.That(p.SmoothedLoss, Is.EqualTo(2.5).Within(1e-10).Percent);
    }

    [Test]
    public void Record_TwoLosses_SmoothedMatchesFormula()
    {
        const double beta = 0.8, l0 = 3.0, l1 = 1.0;
        var finder = new LearningRateFinder(new LrFinderOptions { SmoothingBeta = beta });
        finder.NextRate(); finder.Record(l0);
        finder.NextRate(); finder.Record(l1);
        double expected = (beta * (1 - beta) * l0 + (1 - beta) * l1) / (1 - beta * beta);
        Assert.That(finder.Result.Curve[1].SmoothedLoss, Is.EqualTo(expected).Within(1e-10).Percent);
    }

    [Test]
    public void Result_SigmoidValley_SuggestsBelowMinimumAndAboveFlatRegion()
    {
        var finder = new LearningRateFinder(LrFinderOptions.For(FineTuneMethod.Lora));
        var r = Run(finder, rate => Curve(rate));

        // Where the true curve bottoms out, and where the descent has taken off (1% of its depth).
        double xMin = Enumerable.Range(0, 6001).Select(i => -7 + i * 0.001).MinBy(x => Curve(Math.Pow(10, x)));
        double xFlatEnd = -4 + 0.3 * Math.Log(2 / 1.98 - 1);
        Assert.Multiple(() =>
        {
            Assert.That(r.StopReason, Is.EqualTo(LrFinderStopReason.Diverged));
            Assert.That(r.SuggestedRate, Is.Not.Null);
            Assert.That(r.SuggestedRate!.Value, Is.LessThan(Math.Pow(10, xMin)));
            Assert.That(r.SuggestedRate.Value, Is.GreaterThan(Math.Pow(10, xFlatEnd)));
            Assert.That(r.SuggestedRate.Value, Is.EqualTo(r.SteepestRate!.Value / 10).Within(1e-10).Percent);
            // The smoothed curve lags the raw one, so its steepest point sits at or right of the true one (1e-4).
            Assert.That(Math.Log10(r.SteepestRate.Value), Is.InRange(-4.0, -3.0));
            Assert.That(r.Capped, Is.False);
            Assert.That(r.Reason, Does.Contain("safety factor 10"));
        });
    }

    [Test]
    public void Result_NoisyValley_StillBetweenFlatRegionAndMinimum()
    {
        var noise = new SyntheticLoss(21);
        var r = Run(new LearningRateFinder(), rate => Curve(rate) * (1 + 0.02 * noise.Normal()));
        double xFlatEnd = -4 + 0.3 * Math.Log(2 / 1.98 - 1);
        Assert.That(r.SuggestedRate, Is.Not.Null, r.Reason);
        Assert.That(Math.Log10(r.SuggestedRate!.Value), Is.InRange(xFlatEnd, -3.5));
    }

    [Test]
    public void Record_LossBlowsUp_StopsEarlyOnDivergence()
    {
        var o = new LrFinderOptions();
        var finder = new LearningRateFinder(o);
        var r = Run(finder, rate => Curve(rate));
        Assert.That(r.Curve, Has.Count.LessThan(o.Steps));
        double best = r.Curve.Take(r.Curve.Count - 1).Min(p => p.SmoothedLoss);
        Assert.That(r.Curve[^1].SmoothedLoss, Is.GreaterThan(o.DivergenceFactor * best));
        Assert.That(r.Curve.Take(r.Curve.Count - 1).All(p => p.SmoothedLoss <= o.DivergenceFactor * best), Is.True, "stopped at the first divergent step");
        Assert.That(finder.IsFinished, Is.True);
        Assert.Throws<InvalidOperationException>(() => finder.NextRate());
    }

    [TestCase(FineTuneMethod.Lora)]
    [TestCase(FineTuneMethod.Full)]
    public void Result_SteepestAtHighRate_IsCappedPerMethod(FineTuneMethod method)
    {
        // Steepest near 1e-2 and no blow-up inside the sweep: rate / 10 is far above any method's cap.
        var r = Run(new LearningRateFinder(LrFinderOptions.For(method)), rate => Curve(rate, centre: -2, blowUp: 3));
        double cap = TrainingDefaults.MaxSuggestedRate(method);
        Assert.That(r.SteepestRate! / 10, Is.GreaterThan(cap));
        Assert.That(r.SuggestedRate, Is.EqualTo(cap));
        Assert.That(r.Capped, Is.True);
        Assert.That(r.Reason, Does.Contain("capped at"));
    }

    [Test]
    public void Result_ParabolaInLogRate_SuggestsBelowItsMinimum()
    {
        // A parabola with its minimum at 1e-3: the raw curve falls fastest at the start, the smoothed one a
        // little later (the average needs a few points), and both well before the minimum.
        var r = Run(new LearningRateFinder(), rate => 1 + 0.1 * Math.Pow(Math.Log10(rate) + 3, 2));
        const double trueMinimum = 1e-3;
        // The smoothed minimum lags right of the true one by about beta/(1-beta) = 9 sweep steps of 6/99 decade.
        Assert.That(Math.Log10(r.MinimumLossRate!.Value), Is.InRange(-3.0, -3.0 + 10 * 6.0 / 99));
        Assert.That(r.SteepestRate, Is.LessThan(trueMinimum));
        Assert.That(r.SuggestedRate, Is.LessThan(trueMinimum / 10));
    }

    [Test]
    public void Result_DropAtFirstStep_WarnsToSweepLower()
    {
        // Most of the descent already happens between the first two rates: the range started too high.
        var o = new LrFinderOptions { SkipStart = 0 };
        var r = Run(new LearningRateFinder(o), rate => rate <= o.MinRate ? 3.0 : 1.0 + 1e-3 * Math.Log10(rate / o.MinRate));
        Assert.That(r.SteepestRate, Is.EqualTo(o.MinRate).Within(1e-10).Percent);
        Assert.That(r.Reason, Does.Contain("repeat with a lower minimum rate"));
    }

    [Test]
    public void Result_NoisyFirstBatches_AreSkippedByDefault()
    {
        // The first batches' losses are high and falling whatever the rate (the model meets the task), then the real
        // descent is centred on 1e-4. Without skipping, the startup drop reads as the steepest point at 1e-7.
        var o = new LrFinderOptions();
        int step = 0;
        double LossAt(double rate) => Curve(rate) + (step++ < 3 ? 4.0 - step : 0);
        var skipped = Run(new LearningRateFinder(o), LossAt);
        step = 0;
        var unskipped = Run(new LearningRateFinder(o with { SkipStart = 0 }), LossAt);

        Assert.That(unskipped.SteepestRate, Is.LessThan(1e-6), "the startup drop, in the first decade");
        Assert.That(Math.Log10(skipped.SteepestRate!.Value), Is.EqualTo(-4).Within(0.5), "the real descent, seen a little late through the smoothing");
        Assert.That(skipped.Reason, Does.Not.Contain("repeat with a lower minimum rate"));
    }

    [Test]
    public void Result_FlatCurve_SaysTheSuggestionIsAWeakGuess()
    {
        // A 3% dip before the blow-up: what a classification head learning from scratch shows in 100 steps.
        var flat = Run(new LearningRateFinder(), rate => Curve(rate) * 0.015 + 0.7 + Math.Exp(4 * (Math.Log10(rate) + 2.5)));
        Assert.That(flat.SuggestedRate, Is.Not.Null);
        Assert.That(flat.Descent, Is.LessThan(0.05).And.GreaterThan(0));
        Assert.That(flat.Reason, Does.Contain("no clear descent"));

        var clear = Run(new LearningRateFinder(), rate => Curve(rate));
        Assert.That(clear.Descent, Is.GreaterThan(0.5));
        Assert.That(clear.Reason, Does.Not.Contain("no clear descent"));
    }

    [Test]
    public void Record_NaNEarly_StopsWithoutSuggestion()
    {
        var finder = new LearningRateFinder();
        int calls = 0;
        var r = Run(finder, _ => ++calls < 3 ? 2.0 : double.NaN);
        Assert.That(r.StopReason, Is.EqualTo(LrFinderStopReason.NonFiniteLoss));
        Assert.That(r.Curve, Has.Count.EqualTo(3));
        Assert.That(r.SuggestedRate, Is.Null);
        Assert.That(r.Reason, Does.StartWith("no suggestion"));
    }

    [Test]
    public void Result_LossNeverFalls_NoSuggestion()
    {
        var r = Run(new LearningRateFinder(), rate => 2 + Math.Log10(rate) + 7);
        Assert.That(r.SuggestedRate, Is.Null);
        Assert.That(r.Reason, Does.Contain("never went below"));
    }

    [Test]
    public void Record_WithoutNextRate_Throws()
    {
        var finder = new LearningRateFinder();
        Assert.Throws<InvalidOperationException>(() => finder.Record(1.0));
        finder.NextRate();
        finder.Record(1.0);
        Assert.Throws<InvalidOperationException>(() => finder.Record(1.0));
    }

    [Test]
    public void Constructor_BadRange_Throws()
    {
        Assert.Throws<ArgumentException>(() => new LearningRateFinder(new LrFinderOptions { MinRate = 1e-3, MaxRate = 1e-4 }));
        Assert.Throws<ArgumentException>(() => new LearningRateFinder(new LrFinderOptions { SmoothingBeta = 1.0 }));
    }
}
