using System.Text.RegularExpressions;
using MLNetLora.LibTorch;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;
using MLNetLora.Models.Tokenization;
using MLNetLora.Training.Engine;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// A loaded base model ready for LoRA training: weights in the compute dtype, the tokenizer, the pad
/// id, and the adapter settings in effect (fresh, from <c>--init-adapter</c>, or from a checkpoint).
/// Shared by <c>train</c>, <c>lr-find</c> and <c>demo</c>.
/// </summary>
public sealed partial class TrainingSession : IDisposable
{
    private TrainingSession(PretrainedModel model, HfTokenizer tokenizer, LoraSettings lora)
    {
        Pretrained = model;
        Tokenizer = tokenizer;
        Lora = lora;
    }

    /// <summary>The loaded model folder.</summary>
    public PretrainedModel Pretrained { get; }

    /// <summary>The model's tokenizer.</summary>
    public HfTokenizer Tokenizer { get; }

    /// <summary>The adapter settings the trainer must use (they describe adapters already on the model when one was loaded).</summary>
    public LoraSettings Lora { get; }

    /// <summary>
    /// Loads the model (and <paramref name="initAdapter"/> when given). <paramref name="lora"/> is used
    /// for fresh adapters; a loaded adapter's own settings replace it.
    /// </summary>
    /// <exception cref="UsageException">The folder has no tokenizer.</exception>
    public static TrainingSession Open(string modelDir, Device device, DType? dtype, LoraSettings lora, string? initAdapter)
    {
        ArgumentNullException.ThrowIfNull(lora);
        var model = PretrainedModel.Load(modelDir, device, dtype);
        try
        {
            var tokenizer = model.Tokenizer ?? throw new UsageException(
                $"'{modelDir}' has no tokenizer.json or tokenizer.model; copy the tokenizer files from the model's Hugging Face repository.");
            var settings = initAdapter is null ? lora : PeftAdapterIO.Load(model.Model, initAdapter);
            return new TrainingSession(model, tokenizer, settings);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The class order a classification run should use when the data alone must not decide it: the
    /// model config's <c>id2label</c>, unless those are transformers' placeholder names (LABEL_0, ...).
    /// </summary>
    public IReadOnlyList<string>? ConfigClassNames()
    {
        var map = Pretrained.Config.Id2Label;
        if (map is null || map.Count < 2 || map.Values.All(v => PlaceholderLabel().IsMatch(v))) return null;
        if (!Enumerable.Range(0, map.Count).All(map.ContainsKey)) return null;
        return Enumerable.Range(0, map.Count).Select(i => map[i]).ToList();
    }

    /// <summary>
    /// Creates the trainer with the session's adapter settings and padding id; for classification the
    /// trainer adds (or checks) the head over <paramref name="classCount"/> classes. A training-layer
    /// error becomes a usage error in the CLI's words.
    /// </summary>
    /// <exception cref="UsageException">An option is out of range, the LoRA targets match no layer, or a loaded head has other classes.</exception>
    public LoraTrainer CreateTrainer(TrainerOptions options, int classCount = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            return new LoraTrainer(Pretrained, options with { Lora = Lora }, classCount);
        }
        catch (ArgumentException e)
        {
            throw CliOptionNames.ToUsage(e);
        }
    }

    /// <summary>One line on the model, for the log.</summary>
    public string Describe()
    {
        var c = Pretrained.Config;
        return $"{c.ModelType}: hidden {c.HiddenSize}, {c.NumHiddenLayers} layers, {c.NumAttentionHeads} heads / {c.NumKeyValueHeads} kv, " +
               $"vocab {c.VocabSize}; {Pretrained.Model.ComputeDType} on {Pretrained.Model.Device}";
    }

    /// <summary>One line on the adapters, for the log (after the trainer added them).</summary>
    public string DescribeAdapters()
    {
        var targets = Pretrained.Model.Adapters.Keys.Select(ModuleNames.Leaf).Distinct();
        string rs = (Lora.UseRsLora ? ", rsLoRA" : "") + (Pretrained.Model.Adapters.Values.Any(a => a.IsDora) ? ", DoRA" : "");
        return $"LoRA r={Lora.Rank} alpha={Lora.Alpha:0.##} dropout={Lora.Dropout:0.##}{rs} on {Pretrained.Model.Adapters.Count} modules ({string.Join(",", targets)})" +
               (Pretrained.Model.ScoreHead is { } h ? $" + classification head ({h.Weight.Size(0)} classes)" : "");
    }

    /// <summary>One line on what full fine-tuning trains, for the log (after the trainer set it up).</summary>
    public string DescribeTrainedWeights(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var m = Pretrained.Model;
        long all = m.NamedWeights().Sum(kv => kv.Value.NumEl);
        var frozen = new List<string>();
        if (options.FreezeEmbeddings) frozen.Add("embeddings");
        if (options.FreezeLayers > 0) frozen.Add($"layers 0-{options.FreezeLayers - 1}");
        return $"full fine-tuning of {m.TrainableWeights.Count} tensors, {m.TrainableWeightCount / 1e6:0.##}M of {all / 1e6:0.##}M parameters" +
               (frozen.Count > 0 ? $" ({string.Join(" and ", frozen)} frozen)" : "") +
               (m.ScoreHead is { } h ? $" + classification head ({h.Weight.Size(0)} classes)" : "");
    }

    /// <summary>Frees the model.</summary>
    public void Dispose() => Pretrained.Dispose();

    [GeneratedRegex("^LABEL_[0-9]+$")]
    private static partial Regex PlaceholderLabel();
}
