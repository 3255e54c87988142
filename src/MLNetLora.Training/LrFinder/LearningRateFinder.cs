using System.Globalization;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Training.LrFinder;

/// <summary>
/// The tensor-free core of a learning-rate range test: an exponential sweep of rates, one training
/// step each, with the loss smoothed and watched for divergence, and a suggestion taken from the
/// steepest descent of the smoothed loss. The trainer drives it and restores the weights afterwards:
/// <code>
/// var finder = new LearningRateFinder(LrFinderOptions.For(method));
/// do { loss = TrainOneStep(finder.NextRate()); } while (finder.Record(loss));
/// var result = finder.Result;
/// </code>
/// </summary>
public sealed class LearningRateFinder
{
    private const int MinPointsForSuggestion = 5;
    private readonly List<LrFinderPoint> curve = [];
    private double average;
    private double best = double.PositiveInfinity;
    private bool ratePending;
    private LrFinderStopReason stop = LrFinderStopReason.Running;

    /// <summary>Creates a finder.</summary>
    /// <param name="options">Sweep settings; null for the LoRA defaults.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public LearningRateFinder(LrFinderOptions? options = null)
    {
        Options = options ?? new LrFinderOptions();
        Validate(Options);
    }

    /// <summary>The settings in use.</summary>
    public LrFinderOptions Options { get; }

    /// <summary>Whether the sweep has ended (completed, diverged or hit a NaN).</summary>
    public bool IsFinished => stop != LrFinderStopReason.Running;

    /// <summary>The curve so far and the suggestion it supports; available at any time.</summary>
    public LrFinderResult Result => Suggest();

    /// <summary>The rate of sweep step <paramref name="index"/>: <c>min * (max / min)^(index / (steps - 1))</c>.</summary>
    /// <param name="options">The sweep settings.</param>
    /// <param name="index">The step, from 0 to <c>steps - 1</c>.</param>
    /// <returns>The rate.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside the sweep.</exception>
    public static double RateAt(LrFinderOptions options, int index)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, options.Steps);
        return options.MinRate * Math.Pow(options.MaxRate / options.MinRate, index / (double)(options.Steps - 1));
    }

    /// <summary>The rate to train the next sweep step with. Calling it again before <see cref="Record"/> returns the same rate.</summary>
    /// <returns>The rate.</returns>
    /// <exception cref="InvalidOperationException">The sweep has ended.</exception>
    public double NextRate()
    {
        if (IsFinished) throw new InvalidOperationException($"The learning-rate sweep has ended ({stop}); read Result.");
        ratePending = true;
        return RateAt(Options, curve.Count);
    }

    /// <summary>Records the training loss of the step run at the last <see cref="NextRate"/>.</summary>
    /// <param name="loss">The step's training loss (a cross-entropy, so not negative).</param>
    /// <returns>True to run another step; false when the sweep has ended.</returns>
    /// <exception cref="InvalidOperationException">No rate was handed out since the last record, or the sweep has ended.</exception>
    public bool Record(double loss)
    {
        if (IsFinished) throw new InvalidOperationException($"The learning-rate sweep has ended ({stop}).");
        if (!ratePending) throw new InvalidOperationException("Call NextRate() before Record(): each loss belongs to the rate it was trained with.");
        ratePending = false;
        int i = curve.Count;
        double rate = RateAt(Options, i);
        if (!double.IsFinite(loss))
        {
            curve.Add(new LrFinderPoint(rate, loss, double.NaN));
            stop = LrFinderStopReason.NonFiniteLoss;
            return false;
        }

        double beta = Options.SmoothingBeta;
        average = beta * average + (1 - beta) * loss;
        // Dividing by 1 - beta^(i+1) removes the pull towards the zero the average started from.
        double smoothed = average / (1 - Math.Pow(beta, i + 1));
        curve.Add(new LrFinderPoint(rate, loss, smoothed));
        best = Math.Min(best, smoothed);
        if (i > 0 && smoothed > Options.DivergenceFactor * best) stop = LrFinderStopReason.Diverged;
        else if (curve.Count == Options.Steps) stop = LrFinderStopReason.Completed;
        return !IsFinished;
    }

    private LrFinderResult Suggest()
    {
        var points = curve.ToArray();
        int usable = points.Length;
        while (usable > 0 && !double.IsFinite(points[usable - 1].SmoothedLoss)) usable--;
        var result = new LrFinderResult { Curve = points, StopReason = stop, Reason = "" };

        if (usable < MinPointsForSuggestion)
        {
            string why = IsFinished
                ? $"the sweep ended ({stop}) after {points.Length} steps, too few to read a slope; start the sweep below {R(Options.MinRate)} or use more steps"
                : $"only {usable} steps recorded so far";
            return result with { Reason = "no suggestion: " + why };
        }

        int iMin = 0;
        for (int i = 1; i < usable; i++)
            if (points[i].SmoothedLoss < points[iMin].SmoothedLoss) iMin = i;
        result = result with { MinimumLossRate = points[iMin].Rate };
        if (iMin == 0)
            return result with
            {
                Reason = $"no suggestion: the smoothed loss never went below its value at the first rate {R(points[0].Rate)}; " +
                         "the sweep started too high (lower the minimum rate) or nothing is being trained",
            };

        // Slope per decade of rate, the way numpy.gradient differentiates: central inside, one-sided at the ends.
        // The first points are left out (fastai's skip_start): the smoothed loss there still mostly reflects
        // the first batches' noise, and reading a slope from it points at the lowest rate whatever the model.
        int first = Math.Min(Options.SkipStart ?? Options.Steps / 10, Math.Max(0, iMin - 1));
        int iSteep = first;
        double steepest = double.PositiveInfinity;
        for (int i = first; i <= iMin; i++)
        {
            int lo = Math.Max(0, i - 1), hi = Math.Min(usable - 1, i + 1);
            double slope = (points[hi].SmoothedLoss - points[lo].SmoothedLoss) /
                           (Math.Log10(points[hi].Rate) - Math.Log10(points[lo].Rate));
            if (slope < steepest)
            {
                steepest = slope;
                iSteep = i;
            }
        }
        if (!(steepest < 0))
            return result with { Reason = $"no suggestion: the smoothed loss did not fall anywhere before its minimum at {R(points[iMin].Rate)}" };

        double steepRate = points[iSteep].Rate;
        double divided = steepRate / Options.SafetyFactor;
        bool capped = divided > Options.MaxSuggestedRate;
        double suggestion = capped ? Options.MaxSuggestedRate : divided;
        string reason =
            $"suggested {R(suggestion)}: the smoothed loss fell fastest at {R(steepRate)} ({N(steepest)} per decade of rate, " +
            $"smoothed loss {N(points[iSteep].SmoothedLoss)}) and was lowest at {R(points[iMin].Rate)} ({N(points[iMin].SmoothedLoss)}); " +
            $"{R(steepRate)} / safety factor {N(Options.SafetyFactor)} = {R(divided)}, because range tests point too high for fine-tuning transformers";
        if (capped) reason += $"; capped at {R(Options.MaxSuggestedRate)}, the most this method should start with";
        double descent = (points[first].SmoothedLoss - points[iMin].SmoothedLoss) / Math.Abs(points[first].SmoothedLoss);
        if (descent < Options.ClearDescent)
            reason += $". The smoothed loss fell only {descent:P1} over the sweep, so the curve shows no clear descent and this is a weak guess: " +
                      "the model learns slowly at every rate in a sweep this short (a classification head starting from scratch, a tiny model); " +
                      "sweep with more steps, or train at the method's default and watch the loss";
        else if (iSteep == first) reason += $". The descent was steepest at the first rate read, so the true steepest point may lie below {R(Options.MinRate)}: repeat with a lower minimum rate";
        else if (iMin == usable - 1 && stop == LrFinderStopReason.Completed)
            reason += $". The loss was still falling at the last rate {R(points[iMin].Rate)}, so the sweep never reached the unstable region";
        return result with { SuggestedRate = suggestion, SteepestRate = steepRate, Descent = descent, Capped = capped, Reason = reason };
    }

    private static void Validate(LrFinderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options;
        if (!(o.MinRate > 0) || !double.IsFinite(o.MinRate)) throw new ArgumentException($"MinRate must be positive, got {o.MinRate}.", nameof(options));
        if (!(o.MaxRate > o.MinRate) || !double.IsFinite(o.MaxRate))
            throw new ArgumentException($"MaxRate ({o.MaxRate}) must be above MinRate ({o.MinRate}).", nameof(options));
        if (o.Steps < MinPointsForSuggestion) throw new ArgumentException($"Steps must be at least {MinPointsForSuggestion}, got {o.Steps}.", nameof(options));
        if (!(o.SmoothingBeta >= 0 && o.SmoothingBeta < 1)) throw new ArgumentException($"SmoothingBeta must be in [0, 1), got {o.SmoothingBeta}.", nameof(options));
        if (!(o.DivergenceFactor > 1)) throw new ArgumentException($"DivergenceFactor must be above 1, got {o.DivergenceFactor}.", nameof(options));
        if (!(o.SafetyFactor >= 1)) throw new ArgumentException($"SafetyFactor must be at least 1, got {o.SafetyFactor}.", nameof(options));
        if (o.SkipStart < 0) throw new ArgumentException($"SkipStart must be 0 or more, got {o.SkipStart}.", nameof(options));
        if (!(o.ClearDescent >= 0 && o.ClearDescent < 1)) throw new ArgumentException($"ClearDescent must be in [0, 1), got {o.ClearDescent}.", nameof(options));
        if (!(o.MaxSuggestedRate > 0)) throw new ArgumentException($"MaxSuggestedRate must be positive, got {o.MaxSuggestedRate}.", nameof(options));
    }

    private static string R(double rate) => RateText.Format(rate);

    private static string N(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
