using System.Globalization;
using MLNetLora.Training.LrFinder;
using MLNetLora.Training.Schedules;
using ScottPlot;

namespace MLNetLora.Training.Reporting;

/// <summary>
/// Loss and learning-rate curves as pictures a person reads at a glance: training loss (thin) and its
/// moving average, evaluation loss (points), for classification the evaluation accuracy on its own
/// axis, the rate on the right axis from 0, watchdog events as dashed lines, and a title naming the
/// model, data, method and peak rate. The legend sits outside the data. The format follows the file
/// extension (.png or .svg).
/// </summary>
public static class TrainingCharts
{
    // Above this many points a series is drawn as a line only; markers would turn it into beads.
    private const int MarkerLimit = 60;

    /// <summary>Draws the curves of a metrics file into <paramref name="imagePath"/>.</summary>
    /// <param name="metricsPath">A metrics.jsonl written by the trainer.</param>
    /// <param name="imagePath">.png or .svg.</param>
    /// <param name="dataName">The training data, for the title (optional).</param>
    /// <param name="width">Pixels.</param>
    /// <param name="height">Pixels.</param>
    /// <exception cref="ArgumentException">The extension is not .png or .svg, or the file has no training rows.</exception>
    public static void SaveCurves(string metricsPath, string imagePath, string? dataName = null, int width = 1000, int height = 620)
    {
        var (train, eval) = MetricsFile.Read(metricsPath);
        if (train.Count == 0) throw new ArgumentException($"'{metricsPath}' has no training rows to draw.");
        var run = MetricsFile.ReadRun(metricsPath);
        var events = MetricsFile.ReadEvents(metricsPath);
        var steps = train.Select(t => (double)t.Step).ToArray();
        var loss = train.Select(t => t.Loss).ToArray();
        var plot = new Plot();
        bool markers = train.Count <= MarkerLimit;

        var raw = plot.Add.Scatter(steps, loss);
        raw.LegendText = "train loss";
        raw.LineWidth = 1;
        raw.MarkerSize = markers ? 4 : 0;
        raw.Color = Colors.SteelBlue.WithAlpha(0.45);
        // A centred window, not an exponential average: the line sits on the points instead of trailing them, which on a
        // short run (48 steps) put the smoothed loss above nearly every raw point.
        int half = Math.Clamp(loss.Length / 25, 1, 50);
        var smooth = plot.Add.Scatter(steps, CentredAverage(loss, half));
        smooth.LegendText = $"train loss ({2 * half + 1}-step average)";
        smooth.LineWidth = 2.5f;
        smooth.MarkerSize = 0;
        smooth.Color = Colors.SteelBlue;
        if (eval.Count > 0)
        {
            var e = plot.Add.Scatter(eval.Select(r => (double)r.Step).ToArray(), eval.Select(r => r.Loss).ToArray());
            e.LegendText = "eval loss";
            e.LineWidth = 2;
            e.MarkerSize = 7;
            e.Color = Colors.DarkOrange;
        }

        // The rate shares the step axis but gets the right-hand y axis, from 0, in one number format.
        var rate = plot.Add.Scatter(steps, train.Select(t => t.LearningRate).ToArray());
        rate.LegendText = "learning rate (right axis)";
        rate.Axes.YAxis = plot.Axes.Right;
        rate.LineWidth = 1.5f;
        rate.MarkerSize = 0;
        rate.Color = Colors.Gray;
        rate.LinePattern = LinePattern.Dashed;
        double maxRate = train.Select(t => t.LearningRate).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        plot.Axes.Right.Label.Text = "learning rate";
        plot.Axes.Right.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => v <= 0 ? "0" : RateText.Format(v) };
        plot.Axes.SetLimitsY(0, maxRate * 1.08, plot.Axes.Right);

        if (eval.Any(r => r.Accuracy is not null))
        {
            var accAxis = plot.Axes.AddRightAxis();
            accAxis.LabelText = "eval accuracy";
            var acc = plot.Add.Scatter(eval.Where(r => r.Accuracy is not null).Select(r => (double)r.Step).ToArray(),
                eval.Where(r => r.Accuracy is not null).Select(r => r.Accuracy!.Value).ToArray());
            acc.LegendText = "eval accuracy (outer right axis)";
            acc.Axes.YAxis = accAxis;
            acc.LineWidth = 2;
            acc.MarkerSize = 7;
            acc.Color = Colors.SeaGreen;
            plot.Axes.SetLimitsY(0, 1.02, accAxis);
        }

        bool firstEvent = true;
        foreach (var ev in events)
        {
            var line = plot.Add.VerticalLine(ev.Step);
            line.LinePattern = LinePattern.Dotted;
            line.Color = Colors.Crimson.WithAlpha(0.7);
            line.LineWidth = 1;
            if (firstEvent) line.LegendText = "watchdog event";
            firstEvent = false;
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Title(Title(run, dataName));
        plot.XLabel("optimizer step");
        plot.YLabel("loss");
        plot.ShowLegend(Edge.Bottom);
        Save(plot, imagePath, width, height);
    }

    /// <summary>Draws a learning-rate finder curve (loss against rate on a log axis in powers of ten) with the suggestion marked.</summary>
    public static void SaveFinderCurve(LrFinderResult result, string imagePath, int width = 900, int height = 560)
    {
        ArgumentNullException.ThrowIfNull(result);
        var plot = new Plot();
        var xs = result.Curve.Select(p => Math.Log10(p.Rate)).ToArray();
        bool markers = xs.Length <= MarkerLimit;
        var raw = plot.Add.Scatter(xs, result.Curve.Select(p => p.Loss).ToArray());
        raw.LegendText = "loss";
        raw.LineWidth = 1;
        raw.MarkerSize = markers ? 4 : 0;
        raw.Color = Colors.SteelBlue.WithAlpha(0.45);
        var smooth = plot.Add.Scatter(xs, result.Curve.Select(p => p.SmoothedLoss).ToArray());
        smooth.LegendText = "loss (moving average)";
        smooth.LineWidth = 2.5f;
        smooth.MarkerSize = 0;
        smooth.Color = Colors.SteelBlue;
        if (result.SuggestedRate is double s)
        {
            var line = plot.Add.VerticalLine(Math.Log10(s));
            line.LegendText = $"suggested rate {RateText.Format(s)}";
            line.Color = Colors.DarkOrange;
            line.LineWidth = 2;
        }
        // Ticks at powers of ten, written as rates (1e-5), not as their logarithms.
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        if (xs.Length > 0)
            for (int e = (int)Math.Floor(xs.Min()); e <= (int)Math.Ceiling(xs.Max()); e++)
                ticks.AddMajor(e, "1e" + e.ToString(CultureInfo.InvariantCulture));
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Title("Learning-rate finder: loss while the rate grows each step");
        plot.XLabel("learning rate (log scale)");
        plot.YLabel("loss");
        plot.ShowLegend(Edge.Bottom);
        Save(plot, imagePath, width, height);
    }

    private static string Title(RunRow? run, string? dataName)
    {
        if (run is null) return "Loss and learning rate" + (dataName is null ? "" : $" · {dataName}");
        var parts = new List<string> { $"{run.Method} on {run.Model}" };
        if (dataName is not null) parts.Add(dataName);
        parts.Add(run.Task);
        parts.Add($"peak lr {RateText.Format(run.LearningRate)}");
        return string.Join(" · ", parts);
    }

    /// <summary>
    /// The mean of each value and the <paramref name="half"/> values either side (fewer at the ends), skipping NaN and
    /// infinities: a smoothing without lag, for drawing a finished series.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="half"/> is negative.</exception>
    public static double[] CentredAverage(IReadOnlyList<double> values, int half)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfNegative(half);
        var r = new double[values.Count];
        for (int i = 0; i < values.Count; i++)
        {
            double sum = 0;
            int n = 0;
            for (int j = Math.Max(0, i - half); j <= Math.Min(values.Count - 1, i + half); j++)
            {
                if (!double.IsFinite(values[j])) continue;
                sum += values[j];
                n++;
            }
            r[i] = n == 0 ? double.NaN : sum / n;
        }
        return r;
    }

    /// <summary>Bias-corrected exponential moving average (NaN and infinities are skipped).</summary>
    public static double[] Smooth(IReadOnlyList<double> values, double beta)
    {
        ArgumentNullException.ThrowIfNull(values);
        var r = new double[values.Count];
        double avg = 0;
        int n = 0;
        for (int i = 0; i < values.Count; i++)
        {
            if (double.IsFinite(values[i]))
            {
                avg = beta * avg + (1 - beta) * values[i];
                n++;
            }
            r[i] = n == 0 ? double.NaN : avg / (1 - Math.Pow(beta, n));
        }
        return r;
    }

    internal static void Save(Plot plot, string path, int width, int height)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext is not (".png" or ".svg")) throw new ArgumentException($"Chart file '{path}' must end in .png or .svg.");
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir ?? ".", "." + Path.GetFileNameWithoutExtension(path) + ".tmp-" + Guid.NewGuid().ToString("N") + ext);
        if (ext == ".png") plot.SavePng(tmp, width, height);
        else plot.SaveSvg(tmp, width, height);
        File.Move(tmp, path, overwrite: true);
    }
}
