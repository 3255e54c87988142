// dotnet run --project samples/SpamClassifier -c Release -- [--model DIR] [--output DIR] [--lr RATE] [--quick]
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNetLora.ML;
using MLNetLora.Samples;
using static SpamClassifier.SpamClassifier;

var settings = new SampleArgs(args, "spam-classifier");
Directory.CreateDirectory(settings.Output);
var mlContext = new MLContext(seed: 1);
// The trainer's progress (rate, loss, tokens/s, ETA) arrives as ML.NET log messages; Trace is ML.NET's channel bookkeeping.
mlContext.Log += (_, e) => { if (e.Kind != ChannelMessageKind.Trace && e.Source.Contains("LoraTrainer", StringComparison.Ordinal)) Console.Error.WriteLine(e.RawMessage); };

IDataView data = mlContext.Data.LoadFromTextFile<ModelInput>(SampleArgs.DataFile("spam.tsv"), separatorChar: '\t', hasHeader: true);
var split = mlContext.Data.TrainTestSplit(data, testFraction: 0.2, seed: 1);

var clock = Stopwatch.StartNew();
ITransformer model = RetrainModel(mlContext, split.TrainSet, settings.ModelDir, Path.Combine(settings.Output, "run"),
    settings.LearningRate(tinyModelRate: 1e-2), settings.Quick);
var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(split.TestSet));
Console.WriteLine($"held-out accuracy {metrics.MicroAccuracy:P1}, log-loss {metrics.LogLoss:F3} (trained in {clock.Elapsed.TotalSeconds:F0} s)");

string zip = Path.Combine(settings.Output, "SpamClassifier.zip");
SaveModel(mlContext, model, data.Schema, zip);
model.ExportAdapter(Path.Combine(settings.Output, "peft-adapter"));   // loads in Hugging Face PEFT
(model as IDisposable)?.Dispose();

// The consumption side, as an application uses it: one e-mail at a time.
foreach (var text in new[] { "Meeting moved | Can we do Thursday at 3 instead? The room is booked.", "You WON!!! | Claim your free cash prize now, click here" })
{
    var prediction = Predict(new ModelInput { Text = text });
    Console.WriteLine($"{prediction.PredictedLabel,-5} {prediction.Score.Max():P0}  {text}");
}
Console.WriteLine($"model: {zip}");
