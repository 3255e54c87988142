// LoRA fine-tuning from C#, without the CLI:
//   dotnet run --project samples/LoraQuickstart -c Release -- MODEL_DIR TEXT_FILE [OUTPUT_DIR] [--max-steps N]
// e.g. MODEL_DIR = a Hugging Face folder (config.json, model.safetensors, tokenizer.json) and
// TEXT_FILE = any plain-text file; the last 10% of its blocks are held out for validation.
// One epoch over all of Moby-Dick on SmolLM2-135M takes about ten minutes on two cores; --max-steps shortens it.
using MLNetLora.Models.Generation;
using MLNetLora.Models.Hub;
using MLNetLora.Training.Data;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Reporting;
using MLNetLora.Training.Schedules;

int flag = Array.IndexOf(args, "--max-steps");
int? maxSteps = flag >= 0 && flag + 1 < args.Length ? int.Parse(args[flag + 1], System.Globalization.CultureInfo.InvariantCulture) : null;
string[] positional = flag >= 0 ? [.. args[..flag], .. args[Math.Min(args.Length, flag + 2)..]] : args;
if (positional.Length < 2)
{
    Console.Error.WriteLine("usage: LoraQuickstart MODEL_DIR TEXT_FILE [OUTPUT_DIR] [--max-steps N]");
    return 2;
}
args = positional;
string output = Path.GetFullPath(args.Length > 2 ? args[2] : "lora-quickstart-output");

using var pretrained = PretrainedModel.Load(args[0]);                  // CPU, float32
var tokenizer = pretrained.RequireTokenizer();
var blocks = DatasetLoader.Load(args[1], tokenizer, new DatasetOptions { MaxLength = 128 }).Examples;
int held = Math.Max(1, blocks.Count / 10);
var train = blocks[..^held];
var eval = blocks[^held..];

var options = new TrainerOptions
{
    // LearningRate left null: the LoRA default (2e-4) adjusted for the batch, explained in the log.
    Epochs = 1,
    MaxSteps = maxSteps,                                                  // null: the whole epoch
    BatchSize = 8,
    MaxLength = 128,
    EvalEvery = 50,
    // Lora left at its default: r=8, alpha=16, dropout 0.05 on every linear layer (docs/training.md lists the defaults).
    OutputDirectory = output,
    MetricsFile = Path.Combine(output, "metrics.jsonl"),
    BaseModelNameOrPath = args[0],
    Log = Console.Error.WriteLine,
};
using var trainer = new LoraTrainer(pretrained, options);                // adds the adapters; pads with the model's padding id
var before = trainer.Evaluate(eval);
var progress = new Progress<TrainingProgress>(p =>
{
    if (p.Step % 10 == 0 || p.Step == p.TotalSteps) Console.WriteLine($"step {p.Step}/{p.TotalSteps}  loss {p.SmoothedLoss:F3}  lr {RateText.Format(p.LearningRate)}  {p.TokensPerSecond:F0} tok/s  eta {p.Eta:mm\\:ss}");
});
var result = trainer.Train(train, eval, progress);
Console.WriteLine($"validation loss {before.Loss:F3} -> {result.Evaluations[^1].Loss:F3} ({result.StopMessage})");

TrainingCharts.SaveCurves(options.MetricsFile, Path.Combine(output, "curves.png"));
var sample = TextGenerator.Generate(pretrained, ["Call me"], GenerationOptions.Greedy(24))[0];
Console.WriteLine($"sample: Call me{sample.Text}");
Console.WriteLine($"adapter (loads in PEFT): {Path.Combine(output, "adapter")}");
return 0;
