// dotnet run --project samples/ChooseLearningRate -c Release -- [--model DIR] [--output DIR] [--quick]
// 1. The range test: a short run whose rate grows from 1e-7 to 1e-1, one batch a step, while the loss is recorded.
// 2. Its chart (lr-finder.png): loss against rate in powers of ten, the suggestion marked. Read it yourself: the
//    useful rates lie on the steep descent, well below the point where the loss turns up.
// 3. Short ML.NET training runs at the rates the curve points to; the one with the best held-out perplexity is kept.
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNetLora.ML;
using MLNetLora.Models.Hub;
using MLNetLora.Samples;
using MLNetLora.Training.Data;
using MLNetLora.Training.Engine;
using MLNetLora.Training.LrFinder;
using MLNetLora.Training.Reporting;
using MLNetLora.Training.Schedules;
using ChooseLearningRate;

var settings = new SampleArgs(args, "choose-learning-rate");
Directory.CreateDirectory(settings.Output);
var pairs = File.ReadLines(SampleArgs.DataFile("moby-dick-qa.jsonl")).Select(l => JsonSerializer.Deserialize<QaPair>(l, SampleArgs.Json)!).ToList();
var train = pairs.Take(32).ToList();
const int MaxLength = 64;

LrFinderResult result;
using (var pretrained = PretrainedModel.Load(settings.ModelDir))
{
    // The sweep trains on the same rows the runs will: the loss is on the answers, not the questions.
    var tokenizer = pretrained.RequireTokenizer();
    var examples = train.Select(p => InstructionExample.Encode(tokenizer, p.Prompt, p.Response, MaxLength)).ToList();
    using var trainer = new LoraTrainer(pretrained, new TrainerOptions { BatchSize = 8, MaxLength = MaxLength });
    result = trainer.FindLearningRate(examples, new LrFinderOptions { Steps = settings.Quick ? 12 : 100 });
}
string chart = Path.Combine(settings.Output, "lr-finder.png");
TrainingCharts.SaveFinderCurve(result, chart);
Console.WriteLine($"range test: {result.Curve.Count} steps, ended: {result.StopReason}; chart: {chart}");
Console.WriteLine(result.Reason);

// The range test narrows the choice; short trials decide. Candidates read off the curve: the suggestion (steepest
// descent / 10, the safe pick for large pretrained models), the steepest point itself, and the lowest point / 10.
double?[] candidates = result.SuggestedRate is null
    ? [null]   // no suggestion: the trainer's default for LoRA, explained in its log
    : [.. new[] { result.SuggestedRate, result.SteepestRate, result.MinimumLossRate / 10 }.Distinct()];
var mlContext = new MLContext(seed: 1);
mlContext.Log += (_, e) => { if (e.Kind == ChannelMessageKind.Warning && e.Source.Contains("LoraTrainer", StringComparison.Ordinal)) Console.Error.WriteLine(e.RawMessage); };
var trainView = mlContext.Data.LoadFromEnumerable(train);
var heldOut = mlContext.Data.LoadFromEnumerable(pairs.Skip(32));
(double? Rate, double Perplexity) best = (null, double.PositiveInfinity);
Console.WriteLine("rate       held-out perplexity");
foreach (double? rate in candidates)
{
    var pipeline = mlContext.Transforms.LoraTrainer(new LoraGenerationOptions
    {
        ModelPath = settings.ModelDir, PromptColumnName = "Prompt", ResponseColumnName = "Response",
        LearningRate = rate, Epochs = 12, MaxSteps = settings.Quick ? 3 : null, BatchSize = 8, MaxLength = MaxLength,
        OutputDirectory = Path.Combine(settings.Output, "run-" + Label(rate)),
    });
    using var model = pipeline.Fit(trainView);
    double perplexity = model.Evaluate(heldOut).Perplexity;
    Console.WriteLine($"{Label(rate),-10} {perplexity,19:F1}");
    if (perplexity < best.Perplexity)
    {
        best = (rate, perplexity);
        mlContext.Model.Save(model, trainView.Schema, Path.Combine(settings.Output, "Answerer.zip"));
    }
}
Console.WriteLine($"chosen: {Label(best.Rate)} (held-out perplexity {best.Perplexity:F1}); model: {Path.Combine(settings.Output, "Answerer.zip")}");

static string Label(double? rate) => rate is double r ? RateText.Format(r) : "default";

namespace ChooseLearningRate
{
    /// <summary>A question and the answer to learn (samples/data/moby-dick-qa.jsonl).</summary>
    public sealed class QaPair
    {
        public string Prompt { get; set; } = "";
        public string Response { get; set; } = "";
    }
}
