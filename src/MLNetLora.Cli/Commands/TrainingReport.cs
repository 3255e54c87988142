using MLNetLora.Training.Engine;
using MLNetLora.Training.Reporting;

namespace MLNetLora.Cli.Commands;

/// <summary>The lines <c>train</c> and <c>demo</c> print around a run: the plan before, the summary and the files after.</summary>
public static class TrainingReport
{
    /// <summary>The "plan" line: steps per epoch, batch and accumulation, epochs or the step cap.</summary>
    public static string Plan(TrainerOptions o, int trainCount)
    {
        ArgumentNullException.ThrowIfNull(o);
        long perEpoch = o.StepsPerEpoch(trainCount);
        long total = o.PlannedSteps(trainCount);
        string span = o.MaxSteps is null ? $"{o.Epochs} epoch{(o.Epochs == 1 ? "" : "s")}" : "--max-steps";
        return $"{perEpoch} steps per epoch (batch {o.BatchSize} × accumulation {o.GradientAccumulation}), {span}: {total} optimizer steps";
    }

    /// <summary>Writes an aligned "name  value" block.</summary>
    public static void WriteRows(TextWriter w, IEnumerable<(string Name, string Value)> rows)
    {
        ArgumentNullException.ThrowIfNull(w);
        var list = rows.ToList();
        int width = list.Count == 0 ? 0 : list.Max(r => r.Name.Length);
        foreach (var (name, value) in list) w.WriteLine($"{name.PadRight(width)}  {value}");
    }

    /// <summary>The first and last evaluation of a run: the one before training when there was one, else the run's first.</summary>
    public static (EvaluationResult? First, EvaluationResult? Last) FirstAndLast(TrainingResult result, EvaluationResult? before)
    {
        ArgumentNullException.ThrowIfNull(result);
        var first = before ?? (result.Evaluations.Count > 0 ? result.Evaluations[0] : null);
        var last = result.Evaluations.Count > 0 ? result.Evaluations[^1] : null;
        return (first, last);
    }

    /// <summary>Writes how the run ended and the loss, evaluation and accuracy numbers.</summary>
    public static void WriteSummary(TextWriter w, TrainingResult result, EvaluationResult? before, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(result);
        w.WriteLine();
        w.WriteLine($"{CliOptionNames.Translate(result.StopMessage)}: {result.Steps} steps, {TrainingFormat.Duration(elapsed)}");
        var rows = new List<(string, string)>();
        // One batch's loss is noisy (a classification batch of easy rows reads 0.1 while the run diverges); the moving average is not.
        if (!double.IsNaN(result.SmoothedLoss)) rows.Add(("train loss (smoothed)", TrainingFormat.Loss(result.SmoothedLoss) + $" (last batch {TrainingFormat.Loss(result.FinalLoss)})"));
        else if (!double.IsNaN(result.FinalLoss)) rows.Add(("final train loss", TrainingFormat.Loss(result.FinalLoss)));
        var (first, last) = FirstAndLast(result, before);
        if (first is not null && last is not null)
        {
            string best = result.BestEvalLoss is double b ? $" (best {TrainingFormat.Loss(b)})" : "";
            rows.Add(("eval loss", $"{TrainingFormat.Loss(first.Loss)} (step {first.Step}) → {TrainingFormat.Loss(last.Loss)} (step {last.Step}){best}"));
            if (first.Accuracy is double a0 && last.Accuracy is double a1)
                rows.Add(("accuracy", $"{TrainingFormat.Percent(a0)} → {TrainingFormat.Percent(a1)}"));
            else
                rows.Add(("perplexity", $"{TrainingFormat.Number(first.Perplexity, 2)} → {TrainingFormat.Number(last.Perplexity, 2)}"));
        }
        WriteRows(w, rows);
        foreach (string warning in result.Warnings) w.WriteLine($"warning: {CliOptionNames.Translate(warning)}");
    }

    /// <summary>Writes the chart and the CSV export of a metrics file; returns the files written (a missing chart is explained on stderr).</summary>
    public static List<(string Name, string Path)> WriteMetricsOutputs(string metrics, string chart, string? csv, TextWriter error, string? dataName = null)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (!File.Exists(metrics)) return [];
        var files = new List<(string, string)> { ("metrics", metrics) };
        var (train, _) = MetricsFile.Read(metrics);
        if (train.Count > 0)
        {
            TrainingCharts.SaveCurves(metrics, chart, dataName);
            files.Add(("chart", chart));
        }
        else
        {
            error.WriteLine($"no chart: '{metrics}' has no training steps yet.");
        }
        if (csv is not null)
        {
            string? dir = Path.GetDirectoryName(csv);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            MetricsFile.ExportCsv(metrics, csv);
            files.Add(("csv", csv));
        }
        return files;
    }

    /// <summary>Appends an evaluation to the metrics file in the trainer's row format (for the evaluation before the first step).</summary>
    public static void AppendEval(string? metrics, EvaluationResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        using var writer = new MetricsWriter(metrics);
        writer.Write("eval", ("step", r.Step), ("epoch", r.Epoch), ("eval_loss", r.Loss), ("perplexity", r.Perplexity), ("accuracy", r.Accuracy));
    }

    /// <summary>Describes one evaluation for the log.</summary>
    public static string DescribeEval(EvaluationResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return $"loss {TrainingFormat.Loss(r.Loss)}, " +
               (r.Accuracy is double a ? $"accuracy {TrainingFormat.Percent(a)}" : $"perplexity {TrainingFormat.Number(r.Perplexity, 2)}");
    }
}
