// Shared by the samples: where the base model is, whether to run briefly, where to write, which rate.
// Copy this file with a sample, or replace it by your own settings.
using System.Text.Json;

namespace MLNetLora.Samples;

/// <summary>The command line every sample takes: <c>[--model DIR] [--output DIR] [--lr RATE] [--quick]</c>.</summary>
public sealed class SampleArgs
{
    private readonly string[] args;
    private readonly Lazy<string> modelDir;

    public SampleArgs(string[] args, string sampleName)
    {
        this.args = args;
        Quick = args.Contains("--quick") || Environment.GetEnvironmentVariable("MLNETLORA_SAMPLE_QUICK") == "1";
        Output = Path.GetFullPath(Value("--output") ?? sampleName + "-output");
        modelDir = new(() => Path.GetFullPath(Value("--model") ?? Environment.GetEnvironmentVariable("MLNETLORA_MODEL") ?? FindDemoModel()
            ?? throw new InvalidOperationException(
                "No base model: pass --model DIR (a Hugging Face folder with config.json, model.safetensors and tokenizer.json, " +
                "e.g. SmolLM2-135M), set MLNETLORA_MODEL, or run the repository's main job first " +
                "(dotnet run --project src/MLNetLora.Cli -c Release -- demo), which writes mlnetlora-demo/base-model.")));
    }

    /// <summary>The Hugging Face model folder to fine-tune (read when first asked for).</summary>
    public string ModelDir => modelDir.Value;

    /// <summary>Run a few steps only (CI's smoke test): <c>--quick</c> or MLNETLORA_SAMPLE_QUICK=1.</summary>
    public bool Quick { get; }

    /// <summary>Where the sample writes its model, adapter, charts and results.</summary>
    public string Output { get; }

    /// <summary>The value after <paramref name="name"/>, or null.</summary>
    public string? Value(string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>
    /// The learning rate to set: <c>--lr</c> when given; <paramref name="tinyModelRate"/> for a model with a hidden size
    /// under 256 (such as the main job's 128-wide demo model, which learns little at LoRA's 2e-4 in a few hundred
    /// steps); otherwise null, which lets the trainer pick LoRA's default for the batch and say why in its log.
    /// </summary>
    public double? LearningRate(double tinyModelRate)
    {
        if (Value("--lr") is string given)
            return double.Parse(given, System.Globalization.CultureInfo.InvariantCulture);
        int hidden = HiddenSize(ModelDir);
        if (hidden is <= 0 or >= 256) return null;
        Console.Error.WriteLine($"learning rate {MLNetLora.Training.Schedules.RateText.Format(tinyModelRate)}: a tiny model (hidden size {hidden}) needs a higher rate than LoRA's 2e-4; pass --lr to choose another");
        return tinyModelRate;
    }

    /// <summary>For JSONL rows whose field names differ from the C# properties only in case ("prompt" → Prompt).</summary>
    public static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    /// <summary>A data file that ships beside the sample's executable (samples/data in the repository).</summary>
    public static string DataFile(string name) => Path.Combine(AppContext.BaseDirectory, "data", name);

    private static int HiddenSize(string dir)
    {
        string config = Path.Combine(dir, "config.json");
        if (!File.Exists(config)) return 0;
        using var json = JsonDocument.Parse(File.ReadAllText(config));
        return json.RootElement.TryGetProperty("hidden_size", out var h) && h.TryGetInt32(out int value) ? value : 0;
    }

    // The README's first command writes ./mlnetlora-demo/base-model; look for it here and above.
    private static string? FindDemoModel()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "mlnetlora-demo", "base-model");
            if (File.Exists(Path.Combine(candidate, "config.json"))) return candidate;
        }
        return null;
    }
}
