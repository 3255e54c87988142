// dotnet run --project samples/InstructionTuning -c Release -- [--model DIR] [--output DIR] [--lr RATE] [--quick] [--chat]
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNetLora.ML;
using MLNetLora.Samples;
using static InstructionTuning.Answerer;

var settings = new SampleArgs(args, "instruction-tuning");
Directory.CreateDirectory(settings.Output);
var mlContext = new MLContext(seed: 1);
// The trainer's progress (rate, loss, tokens/s, ETA) arrives as ML.NET log messages; Trace is ML.NET's channel bookkeeping.
mlContext.Log += (_, e) => { if (e.Kind != ChannelMessageKind.Trace && e.Source.Contains("LoraTrainer", StringComparison.Ordinal)) Console.Error.WriteLine(e.RawMessage); };

// JSONL with "prompt" and "response" fields, one pair a line (the main job's questions).
var rows = File.ReadLines(SampleArgs.DataFile("moby-dick-qa.jsonl")).Select(l => JsonSerializer.Deserialize<ModelInput>(l, SampleArgs.Json)!).ToList();
var train = mlContext.Data.LoadFromEnumerable(rows.Take(32));
var held = mlContext.Data.LoadFromEnumerable(rows.Skip(32));

var model = (LoraGenerationTransformer)RetrainModel(mlContext, train, settings.ModelDir, Path.Combine(settings.Output, "run"),
    settings.LearningRate(tinyModelRate: 5e-3), settings.Quick, args.Contains("--chat"));
var metrics = model.Evaluate(held);
Console.WriteLine($"held-out answers: loss {metrics.Loss:F3}, perplexity {metrics.Perplexity:F1} over {metrics.Tokens} tokens");
string zip = Path.Combine(settings.Output, "Answerer.zip");
SaveModel(mlContext, model, train.Schema, zip);
model.Dispose();

foreach (var (row, seen) in rows.Take(2).Select(r => (r, "trained ")).Concat(rows.Skip(32).Take(2).Select(r => (r, "held-out"))))
    Console.WriteLine($"{seen}  {row.Prompt.Replace('\n', ' ')}{Predict(new PromptInput { Prompt = row.Prompt }).Generated}");
Console.WriteLine($"model: {zip}");
