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
        PadId = model.PaddingId;
    }

    /// <summary>The loaded model folder.</summary>
    public PretrainedModel Pretrained { get; }

    /// <summary>The model's tokenizer.</summary>
    public HfTokenizer Tokenizer { get; }

    /// <summary>The adapter settings the trainer must use (they describe adapters already on the model when one was loaded).</summary>
    public LoraSettings Lora { get; }

    /// <summary>The id batches are padded with: the tokenizer's pad token, else the config's, else EOS, else 0.</summary>
    public int PadId { get; }

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

    /// <summary>Adds a classification head over <paramref name="classes"/> classes, or checks the one an adapter brought.</summary>
    /// <exception cref="UsageException">A loaded head has another number of classes.</exception>
    public void EnsureClassificationHead(int classes, ulong seed)
    {
        var head = Pretrained.Model.ScoreHead;
        if (head is null)
        {
            // Its own seed offset keeps the head's draw independent of the adapters' initialisation.
            Pretrained.Model.AddClassificationHead(classes, SeedStreams.HeadInit(seed));
            return;
        }
        long have = head.Weight.Size(0);
        if (have != classes)
            throw new UsageException($"The adapter from --init-adapter has a classification head over {have} classes but the data has {classes}; " +
                "train with data of the same classes, or drop --init-adapter.");
    }

    /// <summary>Creates the trainer, turning the option checks' <see cref="ArgumentException"/> into a usage error.</summary>
    /// <exception cref="UsageException">An option is out of range or the LoRA targets match no layer.</exception>
    public LoraTrainer CreateTrainer(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            return new LoraTrainer(Pretrained.Model, options with { Lora = Lora }) { PadId = PadId };
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message, e);
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
        var targets = Pretrained.Model.Adapters.Keys.Select(k => k[(k.LastIndexOf('.') + 1)..]).Distinct();
        string rs = Lora.UseRsLora ? ", rsLoRA" : "";
        return $"LoRA r={Lora.Rank} alpha={Lora.Alpha:0.##} dropout={Lora.Dropout:0.##}{rs} on {Pretrained.Model.Adapters.Count} modules ({string.Join(",", targets)})" +
               (Pretrained.Model.ScoreHead is { } h ? $" + classification head ({h.Weight.Size(0)} classes)" : "");
    }

    /// <summary>Frees the model.</summary>
    public void Dispose() => Pretrained.Dispose();

    [GeneratedRegex("^LABEL_[0-9]+$")]
    private static partial Regex PlaceholderLabel();
}
