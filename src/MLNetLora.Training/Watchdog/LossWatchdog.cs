using System.Globalization;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Training.Watchdog;

/// <summary>
/// Watches the per-step loss, gradient norm and rate, and tells the trainer when a step must not be
/// applied. It catches NaN/Inf losses and gradient norms, loss spikes (a z-score against a window of
/// recent losses) and, as a warning, a loss that stays flat while the rate is tiny. Anomalous losses
/// never enter the window, so one spike does not make the next one look normal.
/// </summary>
/// <remarks>
/// Call <see cref="Observe"/> once per optimizer step, after the backward pass and before the
/// optimizer update. Every event is kept in <see cref="Events"/> and raised through
/// <see cref="EventRaised"/> for the log and the metrics file.
/// </remarks>
public sealed class LossWatchdog
{
    private readonly List<WatchdogEvent> events = [];
    private readonly Queue<double> history = new();
    private readonly int capacity;
    private int consecutiveAnomalies;
    private double maxRateSeen;
    private bool flatWarned;
    private double ema;
    private long emaSteps;
    private double lowestSmoothed = double.NaN;
    private double startSmoothed = double.NaN;
    private int zeroGradientRun;
    private int divergingRun;
    private bool divergenceWarned;
    private bool zeroGradientWarned;

    /// <summary>Creates a watchdog.</summary>
    /// <param name="options">Thresholds and policy; null for the defaults.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public LossWatchdog(WatchdogOptions? options = null)
    {
        Options = options ?? new WatchdogOptions();
        Validate(Options);
        capacity = Math.Max(Options.SpikeWindow, Options.FlatWindow);
    }

    /// <summary>Raised for every event, as it happens.</summary>
    public event EventHandler<WatchdogEvent>? EventRaised;

    /// <summary>The thresholds and policy in use.</summary>
    public WatchdogOptions Options { get; }

    /// <summary>Every event so far, oldest first.</summary>
    public IReadOnlyList<WatchdogEvent> Events => events;

    /// <summary>Judges one step.</summary>
    /// <param name="observation">The step's loss, gradient norm and rate.</param>
    /// <returns>What the trainer must do, with any events of this step.</returns>
    public WatchdogDecision Observe(StepObservation observation)
    {
        var o = observation;
        if (double.IsFinite(o.LearningRate)) maxRateSeen = Math.Max(maxRateSeen, o.LearningRate);
        string lr = RateText.Format(o.LearningRate);
        string lower = RateText.Round((Options.LearningRate ?? o.LearningRate) * Options.LowerRateFactor);

        if (!double.IsFinite(o.Loss))
            return Anomaly(o, WatchdogEventKind.NonFiniteLoss,
                $"loss is {Num(o.Loss)} at step {o.Step} (lr {lr}, grad norm {Num(o.GradNorm)}): lower LearningRate to {lower}, add warmup " +
                "and keep gradient clipping at 1.0; if it happens at a low rate, check that batch for empty or corrupt examples and " +
                "the precision (fp16 overflows where bf16 does not)", null, null, null);

        if (!double.IsFinite(o.GradNorm))
            return Anomaly(o, WatchdogEventKind.NonFiniteGradNorm,
                $"gradient norm is {Num(o.GradNorm)} at step {o.Step} (loss {Num(o.Loss)}, lr {lr}): lower LearningRate to {lower} or add warmup; " +
                "if it happens at a low rate, check the precision (fp16 overflows where bf16 does not)", null, null, null);

        var trend = CheckTrend(o);
        if (trend is { Action: not WatchdogAction.Continue }) return trend;

        if (history.Count >= Options.MinWindow)
        {
            var (mean, std) = WindowStats();
            double floored = Math.Max(std, Math.Max(Options.MinRelativeStd * Math.Abs(mean), Math.Max(Options.MinAbsoluteStd, 1e-12)));
            double z = (o.Loss - mean) / floored;
            if (z > Options.ZThreshold)
                return Anomaly(o, WatchdogEventKind.LossSpike,
                    $"loss spiked from {Num(mean)} to {Num(o.Loss)} (z={z.ToString("0.0", CultureInfo.InvariantCulture)}) at step {o.Step}, " +
                    $"lr {lr}: lower LearningRate to {lower} or add warmup", z, mean, std);
        }

        consecutiveAnomalies = 0;
        history.Enqueue(o.Loss);
        if (history.Count > capacity) history.Dequeue();
        var flat = CheckFlat(o);
        var warnings = new List<WatchdogEvent>();
        if (trend is not null) warnings.AddRange(trend.Events);
        if (flat is not null) warnings.Add(flat);
        return new WatchdogDecision { Action = WatchdogAction.Continue, Events = warnings };
    }

    // Trends no single step shows: a smoothed loss far above its lowest value (divergence; the
    // policy decides, once) and a gradient that has been zero for many steps (a warning, once).
    private WatchdogDecision? CheckTrend(StepObservation o)
    {
        zeroGradientRun = o.GradNorm < 1e-12 ? zeroGradientRun + 1 : 0;
        if (!zeroGradientWarned && zeroGradientRun >= Options.ZeroGradientSteps)
        {
            zeroGradientWarned = true;
            var ev = Event(o, WatchdogEventKind.VanishingGradient, WatchdogAction.Continue,
                $"the gradient norm has been {Num(o.GradNorm)} for {zeroGradientRun} steps (loss {Num(o.Loss)}): nothing is learning. " +
                "Check that the adapters target modules the loss depends on, that the labels are not all masked (prompt longer than MaxLength?), " +
                "and that the base weights are finite");
            return new WatchdogDecision { Action = WatchdogAction.Continue, Events = [ev] };
        }
        // A slow average (about 50 steps) so one hard batch barely moves it.
        ema = 0.98 * ema + 0.02 * o.Loss;
        emaSteps++;
        double smoothed = ema / (1 - Math.Pow(0.98, emaSteps));
        if (emaSteps < Options.MinWindow) return null;
        if (double.IsNaN(startSmoothed)) startSmoothed = smoothed;
        if (!(smoothed >= lowestSmoothed)) lowestSmoothed = smoothed;
        // Far above its lowest point and worse than where the run started, for MinWindow steps in a
        // row: a healthy classifier's rare hard batches lift the average briefly, a diverging run for good.
        bool above = smoothed > lowestSmoothed * Options.DivergenceFactor && smoothed > startSmoothed && smoothed - lowestSmoothed > Options.MinAbsoluteStd;
        divergingRun = above ? divergingRun + 1 : 0;
        if (divergenceWarned || divergingRun < Options.MinWindow) return null;
        divergenceWarned = true;
        var action = Options.Policy == WatchdogPolicy.Stop ? WatchdogAction.Stop : WatchdogAction.Continue;
        string lower = RateText.Round((Options.LearningRate ?? o.LearningRate) * Options.LowerRateFactor);
        var div = Event(o, WatchdogEventKind.Divergence, action,
            $"the run is diverging: the smoothed loss rose from {Num(lowestSmoothed)} to {Num(smoothed)} by step {o.Step} (lr {RateText.Format(o.LearningRate)}). " +
            $"Lower LearningRate (to {lower} or less) and train again from the start or from a checkpoint before the rise" +
            (action == WatchdogAction.Stop ? " (training stopped)" : ""));
        return new WatchdogDecision { Action = action, Message = div.Message, Events = [div] };
    }

    private WatchdogEvent Event(StepObservation o, WatchdogEventKind kind, WatchdogAction action, string message)
    {
        var ev = new WatchdogEvent
        {
            Step = o.Step, Kind = kind, Action = action, Message = message,
            Loss = o.Loss, GradNorm = o.GradNorm, LearningRate = o.LearningRate,
        };
        Raise(ev);
        return ev;
    }

    /// <summary>A snapshot of the watchdog's memory for a checkpoint.</summary>
    /// <returns>A record that <see cref="RestoreState"/> accepts.</returns>
    public LossWatchdogState SaveState() => new()
    {
        History = history.ToArray(),
        ConsecutiveAnomalies = consecutiveAnomalies,
        MaxRateSeen = maxRateSeen,
        FlatWarned = flatWarned,
        SmoothedLoss = ema,
        SmoothedSteps = emaSteps,
        LowestSmoothedLoss = lowestSmoothed,
        StartSmoothedLoss = startSmoothed,
        ZeroGradientRun = zeroGradientRun,
        DivergingRun = divergingRun,
        DivergenceWarned = divergenceWarned,
        ZeroGradientWarned = zeroGradientWarned,
    };

    /// <summary>Continues from a snapshot taken by <see cref="SaveState"/>; <see cref="Events"/> is not part of it.</summary>
    /// <param name="state">The saved memory.</param>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> or its history is null.</exception>
    /// <exception cref="ArgumentException">The history holds a non-finite loss, or a counter or rate is negative.</exception>
    public void RestoreState(LossWatchdogState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(state.History, nameof(state));
        if (state.History.Any(v => !double.IsFinite(v)))
            throw new ArgumentException("A saved watchdog history holds only accepted, finite losses.", nameof(state));
        if (state.ConsecutiveAnomalies < 0 || !(state.MaxRateSeen >= 0))
            throw new ArgumentException("Saved watchdog counters and rates must not be negative.", nameof(state));
        history.Clear();
        foreach (double v in state.History.Skip(Math.Max(0, state.History.Length - capacity))) history.Enqueue(v);
        consecutiveAnomalies = state.ConsecutiveAnomalies;
        maxRateSeen = state.MaxRateSeen;
        flatWarned = state.FlatWarned;
        ema = state.SmoothedLoss;
        emaSteps = state.SmoothedSteps;
        lowestSmoothed = state.LowestSmoothedLoss;
        startSmoothed = state.StartSmoothedLoss;
        zeroGradientRun = state.ZeroGradientRun;
        divergingRun = state.DivergingRun;
        divergenceWarned = state.DivergenceWarned;
        zeroGradientWarned = state.ZeroGradientWarned;
    }

    private WatchdogDecision Anomaly(StepObservation o, WatchdogEventKind kind, string diagnosis, double? z, double? mean, double? std)
    {
        consecutiveAnomalies++;
        WatchdogAction action;
        string message;
        if (consecutiveAnomalies >= Options.MaxConsecutiveAnomalies)
        {
            kind = WatchdogEventKind.RepeatedAnomalies;
            action = WatchdogAction.Stop;
            message = $"{consecutiveAnomalies} anomalous steps in a row, the last one: {diagnosis}. Stopping, because skipping " +
                      "or rolling back is not recovering; resume from the last good checkpoint with the lower rate";
        }
        else
        {
            action = Options.Policy switch
            {
                WatchdogPolicy.SkipUpdate => WatchdogAction.SkipUpdate,
                WatchdogPolicy.RollbackAndLowerRate => WatchdogAction.RollbackAndLowerRate,
                _ => WatchdogAction.Stop,
            };
            message = diagnosis + action switch
            {
                WatchdogAction.SkipUpdate => " (this step's update was skipped)",
                WatchdogAction.RollbackAndLowerRate =>
                    $" (rolling back to the last checkpoint and multiplying the rate by {Num(Options.LowerRateFactor)})",
                _ => " (training stopped)",
            };
        }

        var ev = new WatchdogEvent
        {
            Step = o.Step, Kind = kind, Action = action, Message = message,
            Loss = o.Loss, GradNorm = o.GradNorm, LearningRate = o.LearningRate,
            ZScore = z, WindowMean = mean, WindowStd = std,
        };
        Raise(ev);
        return new WatchdogDecision
        {
            Action = action,
            RateFactor = action == WatchdogAction.RollbackAndLowerRate ? Options.LowerRateFactor : 1.0,
            Message = message,
            Events = [ev],
        };
    }

    private WatchdogEvent? CheckFlat(StepObservation o)
    {
        if (flatWarned || history.Count < Options.FlatWindow) return null;
        double reference = Options.LearningRate ?? maxRateSeen;
        if (!(reference < Options.FlatRateThreshold)) return null;

        var window = history.Skip(history.Count - Options.FlatWindow).ToArray();
        int quarter = Math.Max(1, window.Length / 4);
        double first = window.Take(quarter).Average();
        double last = window.Skip(window.Length - quarter).Average();
        double change = Math.Abs(last - first) / Math.Max(Math.Abs(first), 1e-12);
        if (!(change < Options.FlatRelativeChange)) return null;

        flatWarned = true;
        string which = Options.LearningRate is null ? "highest so far" : "peak";
        var ev = new WatchdogEvent
        {
            Step = o.Step, Kind = WatchdogEventKind.RateTooLow, Action = WatchdogAction.Continue,
            Message = $"loss changed only {Num(change * 100)}% over the last {Options.FlatWindow} steps ({Num(first)} -> {Num(last)}) " +
                      $"at lr {RateText.Format(o.LearningRate)} ({which} {RateText.Format(reference)}): the rate is probably too low. " +
                      $"Raise LearningRate about 10x (to {RateText.Round(reference * 10)}); if the loss is flat at any rate, check that the " +
                      "adapter weights are trainable and receive gradients",
            Loss = o.Loss, GradNorm = o.GradNorm, LearningRate = o.LearningRate,
            WindowMean = first, RelativeChange = change,
        };
        Raise(ev);
        return ev;
    }

    private (double Mean, double Std) WindowStats()
    {
        int n = Math.Min(history.Count, Options.SpikeWindow);
        var window = history.Skip(history.Count - n);
        double mean = 0;
        foreach (double v in window) mean += v;
        mean /= n;
        double ss = 0;
        foreach (double v in window) ss += (v - mean) * (v - mean);
        return (mean, n > 1 ? Math.Sqrt(ss / (n - 1)) : 0.0);
    }

    private void Raise(WatchdogEvent ev)
    {
        events.Add(ev);
        EventRaised?.Invoke(this, ev);
    }

    private static void Validate(WatchdogOptions options)
    {
        var o = options;
        if (!Enum.IsDefined(o.Policy)) throw new ArgumentException($"Unknown watchdog policy {o.Policy}.", nameof(options));
        if (o.SpikeWindow < 2) throw new ArgumentException($"SpikeWindow must be at least 2, got {o.SpikeWindow}.", nameof(options));
        if (o.MinWindow < 2 || o.MinWindow > o.SpikeWindow)
            throw new ArgumentException($"MinWindow must be between 2 and SpikeWindow ({o.SpikeWindow}), got {o.MinWindow}.", nameof(options));
        if (!(o.ZThreshold > 0)) throw new ArgumentException($"ZThreshold must be positive, got {o.ZThreshold}.", nameof(options));
        if (!(o.MinRelativeStd >= 0)) throw new ArgumentException($"MinRelativeStd must not be negative, got {o.MinRelativeStd}.", nameof(options));
        if (!(o.MinAbsoluteStd >= 0)) throw new ArgumentException($"MinAbsoluteStd must not be negative, got {o.MinAbsoluteStd}.", nameof(options));
        if (!(o.LowerRateFactor > 0 && o.LowerRateFactor < 1))
            throw new ArgumentException($"LowerRateFactor must be in (0, 1), got {o.LowerRateFactor}.", nameof(options));
        if (o.MaxConsecutiveAnomalies < 1)
            throw new ArgumentException($"MaxConsecutiveAnomalies must be at least 1, got {o.MaxConsecutiveAnomalies}.", nameof(options));
        if (o.FlatWindow < 4) throw new ArgumentException($"FlatWindow must be at least 4, got {o.FlatWindow}.", nameof(options));
        if (!(o.FlatRelativeChange >= 0)) throw new ArgumentException($"FlatRelativeChange must not be negative, got {o.FlatRelativeChange}.", nameof(options));
        if (!(o.FlatRateThreshold >= 0)) throw new ArgumentException($"FlatRateThreshold must not be negative, got {o.FlatRateThreshold}.", nameof(options));
        if (!(o.DivergenceFactor > 1)) throw new ArgumentException($"DivergenceFactor must be above 1 (infinity disables), got {o.DivergenceFactor}.", nameof(options));
        if (o.ZeroGradientSteps < 1) throw new ArgumentException($"ZeroGradientSteps must be at least 1, got {o.ZeroGradientSteps}.", nameof(options));
        if (o.LearningRate is { } p && !(p > 0 && double.IsFinite(p)))
            throw new ArgumentException($"LearningRate must be a positive number, got {p}.", nameof(options));
    }

    private static string Num(double v) =>
        double.IsFinite(v) ? v.ToString("0.###", CultureInfo.InvariantCulture) : v.ToString(CultureInfo.InvariantCulture);
}
