using MLNetLora.Training.LrFinder;
using ScottPlot;

namespace MLNetLora.Training.Reporting;

/// <summary>
/// Loss and learning-rate curves as pictures: the training loss (raw and smoothed) with the
/// evaluation loss, and the rate on a second y axis, so a spike or a flat stretch can be read
/// against the rate that caused it. The format follows the file extension (.png or .svg).
/// </summary>
public static class TrainingCharts
{
    /// <summary>Draws the curves of a metrics file into <paramref name="imagePath"/>.</summary>
    /// <exception cref="ArgumentException">The extension is not .png or .svg, or the file has no training rows.</exception>
    public static void SaveCurves(string metricsPath, string imagePath, int width = 900, int height = 700)
    {
        var (train, eval) = MetricsFile.Read(metricsPath);
        if (train.Count == 0) throw new ArgumentException($"'{metricsPath}' has no training rows to draw.");
        var steps = train.Select(t => (double)t.Step).ToArray();
        var loss = train.Select(t => t.Loss).ToArray();
        var plot = new Plot();
        plot.Add.Scatter(steps, loss).LegendText = "train loss";
        plot.Add.Scatter(steps, Smooth(loss, 0.9)).LegendText = "smoothed";
        if (eval.Count > 0)
            plot.Add.Scatter(eval.Select(r => (double)r.Step).ToArray(), eval.Select(r => r.Loss).ToArray()).LegendText = "eval loss";
        // The rate shares the step axis but gets the right-hand y axis, so cause and effect line up.
        var rate = plot.Add.Scatter(steps, train.Select(t => t.LearningRate).ToArray());
        rate.LegendText = "learning rate (right axis)";
        rate.Axes.YAxis = plot.Axes.Right;
        plot.Axes.Right.Label.Text = "learning rate";
        plot.Title("Loss and learning rate");
        plot.XLabel("step");
        plot.YLabel("loss");
        plot.ShowLegend();
        Save(plot, imagePath, width, height);
    }

    /// <summary>Draws a learning-rate finder curve (loss against log rate) with the suggestion marked.</summary>
    public static void SaveFinderCurve(LrFinderResult result, string imagePath, int width = 800, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(result);
        var plot = new Plot();
        var xs = result.Curve.Select(p => Math.Log10(p.Rate)).ToArray();
        plot.Add.Scatter(xs, result.Curve.Select(p => p.Loss).ToArray()).LegendText = "loss";
        plot.Add.Scatter(xs, result.Curve.Select(p => p.SmoothedLoss).ToArray()).LegendText = "smoothed";
        if (result.SuggestedRate is double s)
        {
            var line = plot.Add.VerticalLine(Math.Log10(s));
            line.LegendText = $"suggested {s:G2}";
        }
        plot.Title("Learning-rate finder");
        plot.XLabel("log10(learning rate)");
        plot.YLabel("loss");
        plot.ShowLegend();
        Save(plot, imagePath, width, height);
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

    private static void Save(Plot plot, string path, int width, int height)
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
