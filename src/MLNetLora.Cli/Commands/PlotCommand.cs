using MLNetLora.Training.Reporting;

namespace MLNetLora.Cli.Commands;

/// <summary><c>mlnetlora plot METRICS.jsonl [--output FILE] [--csv FILE] [--data-name NAME]</c>: the loss and rate chart of any run's metrics file.</summary>
public sealed class PlotCommand : ICliCommand
{
    /// <inheritdoc/>
    public string Name => "plot";

    /// <inheritdoc/>
    public string Summary => "Draw the loss, evaluation, accuracy and learning-rate chart of a run's metrics.jsonl (PNG or SVG)";

    /// <inheritdoc/>
    public CommandSyntax Syntax { get; } = new(
        [new PositionalSpec("METRICS", "The metrics.jsonl a train run wrote (also while it is still running)")],
        [
            new OptionSpec("output", "FILE", "Chart file, .png or .svg (default: curves.png beside METRICS)"),
            new OptionSpec("csv", "FILE", "Also write the rows as CSV"),
            new OptionSpec("data-name", "NAME", "Name of the training data for the title"),
        ]);

    /// <inheritdoc/>
    public int Execute(ParsedArguments args, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        string metrics = Path.GetFullPath(args.Positional("METRICS"));
        if (!File.Exists(metrics)) throw new UsageException($"Metrics file '{metrics}' does not exist; pass the metrics.jsonl of a train run (in its --output folder).");
        string chart = Path.GetFullPath(args.Option("output") ?? Path.Combine(Path.GetDirectoryName(metrics) ?? ".", "curves.png"));
        if (Path.GetExtension(chart).ToLowerInvariant() is not (".png" or ".svg"))
            throw new UsageException($"--output '{chart}' must end in .png or .svg.");
        var (train, eval) = MetricsFile.Read(metrics);
        if (train.Count == 0) throw new UsageException($"'{metrics}' has no training steps yet; plot it once the run has taken a step.");
        TrainingCharts.SaveCurves(metrics, chart, args.Option("data-name"));
        context.Out.WriteLine($"chart: {chart} ({train.Count} steps, {eval.Count} evaluations)");
        if (args.Option("csv") is string csv)
        {
            MetricsFile.ExportCsv(metrics, Path.GetFullPath(csv));
            context.Out.WriteLine($"csv: {Path.GetFullPath(csv)}");
        }
        return CliApp.SuccessExitCode;
    }
}
