using System.Globalization;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Cli.Commands;

/// <summary>Numbers as the training commands print them: rates like users type them, losses to 4 decimals, short durations.</summary>
public static class TrainingFormat
{
    /// <summary>A loss to four decimals.</summary>
    public static string Loss(double loss) => loss.ToString("F4", CultureInfo.InvariantCulture);

    /// <summary>A number with up to <paramref name="decimals"/> decimals.</summary>
    public static string Number(double value, int decimals = 3) =>
        value.ToString("0." + new string('#', Math.Max(1, decimals)), CultureInfo.InvariantCulture);

    /// <summary>A fraction as a percentage with one decimal.</summary>
    public static string Percent(double fraction) => (fraction * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    /// <summary>A duration: <c>12.3s</c>, <c>4m05s</c>, <c>2h03m</c>.</summary>
    public static string Duration(TimeSpan t)
    {
        if (t.TotalSeconds < 60) return t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s";
        if (t.TotalHours < 1) return string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes}m{t.Seconds:00}s");
        return string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}h{t.Minutes:00}m");
    }

    /// <summary>One plain progress line for logs that are not a terminal.</summary>
    public static string ProgressLine(TrainingProgress p)
    {
        ArgumentNullException.ThrowIfNull(p);
        double done = p.TotalSteps == 0 ? 1 : (double)p.Step / p.TotalSteps;
        string skipped = p.Skipped ? "  (update skipped by the watchdog)" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"step {p.Step}/{p.TotalSteps} ({Percent(done)})  epoch {p.Epoch:0.00}  loss {Loss(p.Loss)}  smoothed {Loss(p.SmoothedLoss)}  lr {RateText.Format(p.LearningRate)}  grad norm {Number(p.GradNorm)}  {p.TokensPerSecond:N0} tok/s  eta {Duration(p.Eta)}{skipped}");
    }
}
