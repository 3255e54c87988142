using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MLNetLora.Training.Reporting;

/// <summary>One training row of a metrics file.</summary>
/// <param name="Step">Optimizer step (1-based).</param>
/// <param name="Epoch">Fractional epoch.</param>
/// <param name="LearningRate">Rate applied.</param>
/// <param name="Loss">Loss before the update.</param>
/// <param name="GradNorm">Gradient norm before clipping.</param>
/// <param name="TokensPerSecond">Throughput.</param>
public sealed record TrainRow(long Step, double Epoch, double LearningRate, double Loss, double GradNorm, double TokensPerSecond);

/// <summary>One evaluation row of a metrics file.</summary>
/// <param name="Step">Optimizer step.</param>
/// <param name="Loss">Evaluation loss.</param>
/// <param name="Accuracy">Accuracy, for classification.</param>
public sealed record EvalRow(long Step, double Loss, double? Accuracy);

/// <summary>What a run wrote about itself in its first metrics row.</summary>
/// <param name="Model">The base model's folder name or id.</param>
/// <param name="Method">LoRA (or another fine-tuning method).</param>
/// <param name="Task">causal-lm or classification.</param>
/// <param name="LearningRate">The schedule's peak rate.</param>
public sealed record RunRow(string Model, string Method, string Task, double LearningRate);

/// <summary>A watchdog event of a metrics file.</summary>
/// <param name="Step">Optimizer step.</param>
/// <param name="Kind">What the watchdog noticed.</param>
/// <param name="Action">What it did.</param>
public sealed record EventRow(long Step, string Kind, string Action);

/// <summary>Reads the JSONL metrics file the trainer writes and converts it to CSV.</summary>
public static class MetricsFile
{
    /// <summary>Training and evaluation rows, in file order (a resumed run appends, so a step can appear twice; the last wins).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static (List<TrainRow> Train, List<EvalRow> Eval) Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Metrics file '{path}' not found; pass the file given as MetricsFile.", path);
        var train = new SortedDictionary<long, TrainRow>();
        var eval = new SortedDictionary<long, EvalRow>();
        foreach (string line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            switch (r.GetProperty("type").GetString())
            {
                case "train":
                    long s = r.GetProperty("step").GetInt64();
                    train[s] = new TrainRow(s, Num(r, "epoch"), Num(r, "lr"), Num(r, "loss"), Num(r, "grad_norm"), Num(r, "tokens_per_s"));
                    break;
                case "eval":
                    long e = r.GetProperty("step").GetInt64();
                    eval[e] = new EvalRow(e, Num(r, "eval_loss"), r.TryGetProperty("accuracy", out var a) && a.ValueKind == JsonValueKind.Number ? a.GetDouble() : null);
                    break;
            }
        }
        return (train.Values.ToList(), eval.Values.ToList());
    }

    /// <summary>The last "run" row (a resumed run writes one per session), or null for files written before runs described themselves.</summary>
    public static RunRow? ReadRun(string path)
    {
        RunRow? run = null;
        foreach (var r in Rows(path, "run"))
            run = new RunRow(r.TryGetProperty("model", out var m) ? m.GetString() ?? "" : "", r.TryGetProperty("method", out var me) ? me.GetString() ?? "LoRA" : "LoRA",
                r.TryGetProperty("task", out var t) ? t.GetString() ?? "" : "", Num(r, "lr"));
        return run;
    }

    /// <summary>The watchdog events, in file order.</summary>
    public static List<EventRow> ReadEvents(string path) =>
        Rows(path, "event").Select(r => new EventRow(r.GetProperty("step").GetInt64(),
            r.TryGetProperty("kind", out var k) ? k.GetString() ?? "" : "", r.TryGetProperty("action", out var a) ? a.GetString() ?? "" : "")).ToList();

    private static IEnumerable<JsonElement> Rows(string path, string type)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Metrics file '{path}' not found; pass the file given as MetricsFile.", path);
        foreach (string line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonElement r;
            try
            {
                using var doc = JsonDocument.Parse(line);
                r = doc.RootElement.Clone();
            }
            catch (JsonException)
            {
                continue;   // a torn last line of a killed run
            }
            if (r.TryGetProperty("type", out var t) && t.GetString() == type) yield return r;
        }
    }

    /// <summary>Writes the training rows (with the evaluation loss at the steps where one ran) as CSV.</summary>
    public static void ExportCsv(string metricsPath, string csvPath)
    {
        var (train, eval) = Read(metricsPath);
        var evalAt = eval.ToDictionary(e => e.Step);
        var sb = new StringBuilder("step,epoch,lr,loss,grad_norm,tokens_per_s,eval_loss,eval_accuracy\n");
        foreach (var t in train)
        {
            evalAt.TryGetValue(t.Step, out var e);
            sb.AppendLine(string.Join(',', new[] { t.Step.ToString(CultureInfo.InvariantCulture), F(t.Epoch), F(t.LearningRate), F(t.Loss), F(t.GradNorm), F(t.TokensPerSecond),
                e is null ? "" : F(e.Loss), e?.Accuracy is double acc ? F(acc) : "" }));
        }
        string tmp = csvPath + ".tmp-" + Guid.NewGuid().ToString("N");
        File.WriteAllText(tmp, sb.ToString());
        File.Move(tmp, csvPath, overwrite: true);
    }

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static double Num(JsonElement r, string key) =>
        !r.TryGetProperty(key, out var v) ? double.NaN
        : v.ValueKind == JsonValueKind.Number ? v.GetDouble()
        : v.ValueKind == JsonValueKind.String && double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d
        : double.NaN;
}
