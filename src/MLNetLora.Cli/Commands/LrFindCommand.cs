using System.Globalization;
using System.Text;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;
using MLNetLora.Training.LrFinder;
using MLNetLora.Training.Reporting;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// <c>mlnetlora lr-find MODEL_DIR --data FILE [...]</c>: the learning-rate range test. One optimizer
/// step per rate of an exponential sweep, then the adapters are restored; prints the suggested rate,
/// how it was reached (advisory and capped), and optionally the curve as CSV and a chart.
/// </summary>
public sealed class LrFindCommand : ICliCommand
{
    private const int ProgressEvery = 10;

    /// <inheritdoc/>
    public string Name => "lr-find";

    /// <inheritdoc/>
    public string Summary => "Sweep the learning rate over a few batches and suggest a starting rate (advisory)";

    /// <inheritdoc/>
    public CommandSyntax Syntax { get; } = new(
        [ModelArguments.ModelDir],
        [
            .. TrainingArguments.Data,
            new("min-lr", "RATE", "First rate of the sweep (default 1e-7)"),
            new("max-lr", "RATE", "Last rate of the sweep (default 1e-1)"),
            new("steps", "N", "Sweep steps, one batch each (default 100, at least 5)"),
            new("chart", "FILE", "Draw loss against rate, with the suggestion marked (.png or .svg)"),
            new("csv", "FILE", "Write the curve (step, lr, loss, smoothed_loss) as CSV; '-' prints it to stdout"),
            .. TrainingArguments.Method,
            .. TrainingArguments.Lora,
            .. TrainingArguments.Runtime,
        ]);

    /// <inheritdoc/>
    public int Execute(ParsedArguments args, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        var common = TrainingArguments.Parse(args);
        var finder = FinderOptions(args);
        string? chart = args.Option("chart") is string c ? Path.GetFullPath(c) : null;
        if (chart is not null && Path.GetExtension(chart).ToLowerInvariant() is not (".png" or ".svg"))
            throw new UsageException($"--chart '{chart}' must end in .png or .svg.");
        string? csv = args.Option("csv") is string v ? (v == "-" ? "-" : Path.GetFullPath(v)) : null;
        var o = common.Trainer;
        using var session = TrainingSession.Open(common.ModelDir, o.Device, o.ModelDType, o.Lora, common.InitAdapter);
        bool classify = common.Task == TrainingTask.Classification;
        var data = TrainingData.Load(common, session.Tokenizer, null, null, o.Seed, classify ? session.ConfigClassNames() : null);
        // The sweep sets every step's rate itself; a peak rate here only keeps the trainer from choosing (and logging) one.
        var options = o with { LearningRate = TrainingDefaults.LearningRate(o.Method) };
        using var trainer = session.CreateTrainer(options, classify ? data.ClassNames.Count : 0);
        context.Error.WriteLine($"sweeping {finder.Steps} rates from {RateText.Format(finder.MinRate)} to {RateText.Format(finder.MaxRate)} " +
                                $"on {data.Train.Count} examples of {data.Description}, batch {o.BatchSize}; {session.DescribeAdapters()}");

        var progress = new PointProgress(context.Error);
        LrFinderResult result;
        using (var cancel = new StopSignals(context.Error, "Stopping the sweep..."))
            result = trainer.FindLearningRate(data.Train, finder, progress, cancel.Token);

        WriteResult(context.Out, result, finder);
        if (chart is not null)
        {
            TrainingCharts.SaveFinderCurve(result, chart);
            context.Out.WriteLine($"chart: {chart}");
        }
        if (csv == "-") context.Out.Write(Csv(result));
        else if (csv is not null)
        {
            string? dir = Path.GetDirectoryName(csv);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            File.WriteAllText(csv, Csv(result));
            context.Out.WriteLine($"csv: {csv}");
        }
        return CliApp.SuccessExitCode;
    }

    /// <summary>The curve as CSV: <c>step,lr,loss,smoothed_loss</c>, one row per sweep step.</summary>
    public static string Csv(LrFinderResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var sb = new StringBuilder("step,lr,loss,smoothed_loss\n");
        for (int i = 0; i < result.Curve.Count; i++)
        {
            var p = result.Curve[i];
            sb.Append(CultureInfo.InvariantCulture, $"{i + 1},{p.Rate:R},{p.Loss:R},{p.SmoothedLoss:R}\n");
        }
        return sb.ToString();
    }

    private static void WriteResult(TextWriter w, LrFinderResult r, LrFinderOptions o)
    {
        w.WriteLine(r.SuggestedRate is double s
            ? $"suggested learning rate: {RateText.Format(s)}" + (r.Capped ? " (capped)" : "")
            : "no suggested learning rate");
        w.WriteLine($"reason: {r.Reason}");
        w.WriteLine($"sweep: {r.Curve.Count} of {o.Steps} steps from {RateText.Format(o.MinRate)} to {RateText.Format(o.MaxRate)}, ended: {r.StopReason}");
        w.WriteLine($"This is advice, not a measurement of the best rate: the steepest-descent rate is divided by {o.SafetyFactor:0.##} and capped at " +
                    $"{RateText.Format(o.MaxSuggestedRate)} for LoRA, because range tests point too high for fine-tuning. Pass it to train with --lr.");
    }

    private static LrFinderOptions FinderOptions(ParsedArguments args)
    {
        var d = new LrFinderOptions();
        double min = OptionValues.Double(args, "min-lr", 0, 10, minExclusive: true) ?? d.MinRate;
        double max = OptionValues.Double(args, "max-lr", 0, 10, minExclusive: true) ?? d.MaxRate;
        if (!(max > min))
            throw new UsageException($"--max-lr ({RateText.Format(max)}) must be above --min-lr ({RateText.Format(min)}); the sweep rises from one to the other.");
        return d with { MinRate = min, MaxRate = max, Steps = OptionValues.Int(args, "steps", 5, 100_000) ?? d.Steps };
    }

    // The sweep is short, so a plain line every few rates on stderr is enough and keeps stdout for the result.
    private sealed class PointProgress(TextWriter error) : IProgress<LrFinderPoint>
    {
        private int count;

        public void Report(LrFinderPoint value)
        {
            if (++count % ProgressEvery != 1) return;
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"step {count}: lr {RateText.Format(value.Rate)}  loss {TrainingFormat.Loss(value.Loss)}  smoothed {TrainingFormat.Loss(value.SmoothedLoss)}"));
        }
    }
}
