using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetLora.LibTorch;
using MLNetLora.ML;
using MLNetLora.Models.Generation;
using MLNetLora.Models.Hub;
using MLNetLora.Training.Data;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Cli.Commands;

/// <summary>One part of the demo: the held-out figure before and after, and the files it wrote.</summary>
internal sealed record DemoPart(double Before, double After, IReadOnlyList<(string Name, string Path)> Files);

/// <summary>An e-mail row of the classification part.</summary>
internal sealed class MailRow
{
    public string Text { get; set; } = "";
    public string Label { get; set; } = "";
}

/// <summary>A question/answer row of the generation part.</summary>
internal sealed class QuestionRow
{
    public string Prompt { get; set; } = "";
    public string Response { get; set; } = "";
}

/// <summary>The demo's two ML.NET pipelines, written as a user of the library writes them.</summary>
internal static class DemoRuns
{
    public const double ClassificationRate = 1e-2;
    public const double GenerationRate = 5e-3;

    public static readonly string RateReason =
        $"{RateText.Format(ClassificationRate)} for the classifier and {RateText.Format(GenerationRate)} for the answers, 25-50x LoRA's default of 2e-4, " +
        "because this base model has under a million weights and a few hundred steps to learn in; on a real model keep 2e-4 (the trainer picks it) or run mlnetlora lr-find.";

    public static DemoPart Classify(MLContext ml, string modelDir, string output, bool quick, string? device, TextWriter w, CancellationToken ct)
    {
        var rows = DemoResources.ReadJsonLines(DemoResources.SpamMail)
            .Select(e => new MailRow { Text = e.GetProperty("text").GetString()!, Label = e.GetProperty("label").GetString()! }).ToList();
        var split = ml.Data.TrainTestSplit(ml.Data.LoadFromEnumerable(rows), testFraction: 0.2, seed: 1);
        var test = ml.Data.CreateEnumerable<MailRow>(split.TestSet, reuseRowObject: false).ToList();
        var train = ml.Data.CreateEnumerable<MailRow>(split.TrainSet, reuseRowObject: false).ToList();
        w.WriteLine($"part 1      spam classifier: {train.Count} SpamAssassin e-mails to train on, {test.Count} held out " +
                    $"({test.Count(r => r.Label == "spam")} spam, {test.Count(r => r.Label == "ham")} ham)");
        var options = new LoraClassificationOptions
        {
            ModelPath = modelDir, Epochs = quick ? 1 : 5, MaxSteps = quick ? 3 : null, BatchSize = 16, MaxLength = 128, LearningRate = ClassificationRate,
            ValidationSet = split.TestSet, OutputDirectory = output, LogEvery = 5, Device = device, CancellationToken = ct,
        };
        double before = UntrainedAccuracy(modelDir, options, train, test);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoraTrainer(options))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedText", "PredictedLabel"));
        var model = pipeline.Fit(split.TrainSet);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(split.TestSet));
        w.WriteLine($"accuracy    {before:P1} before training (a fresh head guesses) → {metrics.MicroAccuracy:P1} after, on the {test.Count} held-out e-mails");

        // Model Builder's consumption shape: one PredictionEngine, one row per call.
        var engine = ml.Model.CreatePredictionEngine<MailRow, MailPrediction>(model);
        foreach (var sample in new[] { "Re: patch for the build script\nThanks, applied it on my branch; the tests pass now.", "LIMITED OFFER!!! Claim your FREE prize\nClick here to win $1,000,000 cash today, no purchase necessary." })
        {
            var p = engine.Predict(new MailRow { Text = sample });
            w.WriteLine($"predict     {p.PredictedLabel,-4} {p.Score.Max():P0}  \"{sample.Split('\n')[0]}\"");
        }
        string zip = Path.Combine(output, "spam-classifier.zip");
        ml.Model.Save(model, split.TrainSet.Schema, zip);
        model.ExportAdapter(Path.Combine(output, "peft-adapter"));
        var files = new List<(string, string)> { ("classifier", zip), ("adapter", Path.Combine(output, "peft-adapter")) };
        files.AddRange(TrainingReport.WriteMetricsOutputs(Path.Combine(output, RunFolder.MetricsFileName), Path.Combine(output, "curves.png"), null, TextWriter.Null, "SpamAssassin subset"));
        (model as IDisposable)?.Dispose();
        return new DemoPart(before, metrics.MicroAccuracy, files);
    }

    // The start the trainer begins from: the base model with a freshly seeded head, on the held-out rows
    // (classes numbered in order of appearance, as MapValueToKey numbers them).
    private static double UntrainedAccuracy(string modelDir, LoraClassificationOptions options, List<MailRow> train, List<MailRow> test)
    {
        var classes = train.Select(r => r.Label).Distinct().ToList();
        using var pm = PretrainedModel.Load(modelDir, Device.Cpu);
        var tok = pm.RequireTokenizer();
        var trainer = new LoraTrainer(pm, options.ToTrainerOptions(Device.Cpu), classes.Count);
        var examples = test.Select(r => new TrainingExample(tok.Encode(r.Text, true).Take(options.MaxLength).ToArray(), ClassLabel: classes.IndexOf(r.Label))).ToList();
        return trainer.Evaluate(examples).Accuracy ?? 0;
    }

    public static DemoPart Generate(MLContext ml, string modelDir, string output, bool quick, string? device, TextWriter w, CancellationToken ct)
    {
        var rows = DemoResources.ReadJsonLines(DemoResources.Questions)
            .Select(e => new QuestionRow { Prompt = e.GetProperty("prompt").GetString()!, Response = e.GetProperty("response").GetString()! }).ToList();
        var train = rows.Take(32).ToList();
        var held = rows.Skip(32).ToList();
        w.WriteLine($"part 2      answers about Moby-Dick: {train.Count} question/answer pairs to learn, {held.Count} held out for perplexity");
        var options = new LoraGenerationOptions
        {
            ModelPath = modelDir, Epochs = quick ? 1 : 12, MaxSteps = quick ? 3 : null, BatchSize = 8, MaxLength = 48, LearningRate = GenerationRate,
            LoraRank = 16, LoraAlpha = 32, MaxNewTokens = 12, ValidationSet = ml.Data.LoadFromEnumerable(held), OutputDirectory = output,
            LogEvery = 20, Device = device, CancellationToken = ct,
        };
        var shown = train.Take(4).Select(r => r.Prompt).ToList();
        var (beforeText, beforePerplexity) = Untrained(modelDir, shown, held, options);
        using var model = ml.Transforms.LoraTrainer(options).Fit(ml.Data.LoadFromEnumerable(train));
        var afterText = model.Generate(shown);
        double afterPerplexity = model.Evaluate(ml.Data.LoadFromEnumerable(held)).Perplexity;
        for (int i = 0; i < shown.Count; i++)
        {
            w.WriteLine($"prompt      {shown[i].Replace("\n", " ", StringComparison.Ordinal)}");
            w.WriteLine($"  before    {Clean(beforeText[i])}");
            w.WriteLine($"  after     {Clean(afterText[i])}");
        }
        w.WriteLine($"perplexity  {beforePerplexity:F1} before → {afterPerplexity:F1} after, on the answers of the {held.Count} held-out questions");
        string zip = Path.Combine(output, "answers.zip");
        ml.Model.Save(model, ml.Data.LoadFromEnumerable(train).Schema, zip);
        var files = new List<(string, string)> { ("generator", zip) };
        files.AddRange(TrainingReport.WriteMetricsOutputs(Path.Combine(output, RunFolder.MetricsFileName), Path.Combine(output, "curves.png"), null, TextWriter.Null, "Moby-Dick questions"));
        return new DemoPart(beforePerplexity, afterPerplexity, files);
    }

    private static (IReadOnlyList<string> Text, double Perplexity) Untrained(string modelDir, List<string> prompts, List<QuestionRow> held, LoraGenerationOptions o)
    {
        using var pm = PretrainedModel.Load(modelDir, Device.Cpu);
        var tok = pm.RequireTokenizer();
        var text = TextGenerator.Generate(pm, prompts, GenerationOptions.Greedy(o.MaxNewTokens ?? 12)).Select(g => g.Text ?? "").ToList();
        var examples = held.Select(r => InstructionExample.Encode(tok, r.Prompt, r.Response, o.MaxLength)).ToList();
        return (text, ModelEvaluation.Evaluate(pm.Model, examples, TrainingTask.CausalLm, o.BatchSize, pm.PaddingId, o.MaxLength).Perplexity);
    }

    private static string Clean(string s) => string.Join(' ', s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}

/// <summary>What the classifier's PredictionEngine returns.</summary>
internal sealed class MailPrediction
{
    [ColumnName("PredictedText")]
    public string PredictedLabel { get; set; } = "";
    public float[] Score { get; set; } = [];
}
