using MLNetLora.Training.Schedules;
using ScottPlot;

namespace MLNetLora.Training.Reporting;

/// <summary>
/// Learning-rate schedules drawn from the same code the trainer runs (<see cref="LearningRateSchedules.Create"/>),
/// so a picture in the docs or a user's preview shows exactly the rate each step will get.
/// </summary>
public static class ScheduleCharts
{
    private static readonly Color[] Palette =
        [Colors.SteelBlue, Colors.DarkOrange, Colors.SeaGreen, Colors.Crimson, Colors.MediumPurple, Colors.SaddleBrown, Colors.DeepPink, Colors.Gray];

    /// <summary>
    /// Draws the rate at every step of each schedule, one line each, labelled with its kind and warmup, into
    /// <paramref name="imagePath"/> (.png or .svg).
    /// </summary>
    /// <param name="schedules">What to draw; each needs its <see cref="ScheduleOptions.TotalSteps"/>.</param>
    /// <param name="imagePath">.png or .svg.</param>
    /// <param name="title">The chart's title.</param>
    /// <param name="labels">A legend entry per schedule; null: its kind and warmup.</param>
    /// <param name="width">Pixels.</param>
    /// <param name="height">Pixels.</param>
    /// <exception cref="ArgumentException">No schedules, a schedule without steps, invalid options, or a bad extension.</exception>
    public static void SaveSchedules(IReadOnlyList<ScheduleOptions> schedules, string imagePath, string? title = null,
        IReadOnlyList<string>? labels = null, int width = 1000, int height = 600)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        if (schedules.Count == 0) throw new ArgumentException("Give at least one schedule to draw.", nameof(schedules));
        if (labels is not null && labels.Count != schedules.Count)
            throw new ArgumentException($"Give one label per schedule ({schedules.Count}), got {labels.Count}.", nameof(labels));
        var plot = new Plot();
        for (int i = 0; i < schedules.Count; i++)
        {
            var options = schedules[i];
            if (options.TotalSteps <= 0) throw new ArgumentException($"Schedule {i} ({ScheduleKindNames.ToName(options.Kind)}) needs TotalSteps to be drawn.", nameof(schedules));
            var schedule = LearningRateSchedules.Create(options);
            var resolved = schedule.Options;
            double[] steps = [.. Enumerable.Range(0, (int)options.TotalSteps).Select(s => (double)s)];
            double[] rates = [.. steps.Select(s => schedule.LearningRate((long)s))];
            var line = plot.Add.Scatter(steps, rates);
            line.MarkerSize = 0;
            line.LineWidth = 2.5f;
            line.Color = Palette[i % Palette.Length];
            line.LinePattern = i < Palette.Length ? LinePattern.Solid : LinePattern.Dashed;
            line.LegendText = labels?[i] ?? ScheduleKindNames.ToName(options.Kind) + (resolved.WarmupSteps is > 0 and var w ? $", {w} warmup steps" : "");
        }
        plot.Axes.SetLimitsY(0, schedules.Max(s => s.LearningRate) * 1.05);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => v <= 0 ? "0" : RateText.Format(v) };
        plot.Title(title ?? "Learning-rate schedules");
        plot.XLabel("optimizer step");
        plot.YLabel("learning rate");
        plot.ShowLegend(Edge.Bottom);
        TrainingCharts.Save(plot, imagePath, width, height);
    }
}
