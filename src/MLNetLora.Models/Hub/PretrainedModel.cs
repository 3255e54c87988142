using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Tokenization;
using MLNetLora.Models.Transformer;

namespace MLNetLora.Models.Hub;

/// <summary>
/// A Hugging Face model folder loaded for compute: its config, the model in the chosen dtype and
/// device, and its tokenizer (when the folder has one).
/// </summary>
public sealed class PretrainedModel : IDisposable
{
    private PretrainedModel(string directory, ModelConfig config, DecoderModel model, HfTokenizer? tokenizer)
    {
        Directory = directory;
        Config = config;
        Model = model;
        Tokenizer = tokenizer;
    }

    /// <summary>The folder it was loaded from.</summary>
    public string Directory { get; }

    /// <summary>Parsed <c>config.json</c>.</summary>
    public ModelConfig Config { get; }

    /// <summary>The model.</summary>
    public DecoderModel Model { get; }

    /// <summary>The tokenizer, or null when the folder has none.</summary>
    public HfTokenizer? Tokenizer { get; }

    /// <summary>The id batches are padded with: the tokenizer's pad token, else the config's, else EOS, else 0 (padding is masked, so any id works; a real pad id keeps logs readable).</summary>
    public int PaddingId => Tokenizer?.PadId ?? Config.PadTokenId ?? Tokenizer?.EosId ?? 0;

    /// <summary>The tokenizer, or a clear error when the folder has none.</summary>
    /// <exception cref="InvalidOperationException">No tokenizer files were found.</exception>
    public HfTokenizer RequireTokenizer() => Tokenizer ??
        throw new InvalidOperationException($"'{Directory}' has no tokenizer.json or tokenizer.model; copy the tokenizer files from the model's Hugging Face repository.");

    /// <summary>Default compute dtype for a device: float32 on CPU, bfloat16 on CUDA.</summary>
    public static DType DefaultDType(Device device) => device.IsCuda ? DType.BFloat16 : DType.Float32;

    /// <summary>Loads config, weights and tokenizer from a Hugging Face model folder.</summary>
    /// <param name="directory">Folder with config.json and model.safetensors (or shards).</param>
    /// <param name="device">Where to run; CPU when null.</param>
    /// <param name="dtype">Compute dtype; <see cref="DefaultDType"/> when null.</param>
    /// <exception cref="CheckpointException">The folder, config or weights are missing or inconsistent.</exception>
    /// <exception cref="NotSupportedException">The architecture is not implemented.</exception>
    public static PretrainedModel Load(string directory, Device? device = null, DType? dtype = null)
    {
        var dev = device ?? Device.Cpu;
        if (!System.IO.Directory.Exists(directory))
            throw new CheckpointException($"Model folder '{directory}' does not exist. Download a Hugging Face model (config.json, model.safetensors, tokenizer.json) into it, or fix the path.", directory);
        var config = ModelConfig.Load(directory);
        var spec = DecoderSpecBuilder.FromConfig(config);
        DecoderModel model;
        using (var checkpoint = ModelCheckpoint.Open(directory))
            model = DecoderModel.Create(spec, new CheckpointWeightSource(checkpoint), dtype ?? DefaultDType(dev), dev);
        // A checkpoint with NaN or infinite weights trains to NaN at every step and generates garbage; say which tensor, now.
        if (model.FirstNonFiniteWeight() is string bad)
        {
            model.Dispose();
            throw new CheckpointException($"'{directory}': weight '{bad}' holds NaN or infinite values, so every forward pass would be NaN. " +
                "The checkpoint is corrupt or was saved after a diverged run; download or export it again.", directory);
        }
        bool hasTokenizer = File.Exists(Path.Combine(directory, "tokenizer.json")) || File.Exists(Path.Combine(directory, "tokenizer.model"));
        return new PretrainedModel(directory, config, model, hasTokenizer ? HfTokenizer.Load(directory) : null);
    }

    /// <summary>
    /// Writes the model as a Hugging Face checkpoint folder (config.json, model.safetensors or shards
    /// with their index above <paramref name="maxShardBytes"/>, the tokenizer and generation files
    /// copied from the source folder). Adapters are folded into the base weights first, so the result
    /// loads in transformers without PEFT; a fully fine-tuned model is written as it is.
    /// </summary>
    /// <param name="outputDirectory">Destination folder (created if needed).</param>
    /// <param name="dtype">Stored dtype; the config's dtype (else float32) when null.</param>
    /// <param name="maxShardBytes">Largest weight file; transformers' 5 GB by default.</param>
    /// <param name="labelNames">A classifier's class names for <c>id2label</c> (<c>LABEL_i</c> when null).</param>
    /// <remarks>A model with a classification head is written as transformers' <c>…ForSequenceClassification</c>
    /// (its <c>architectures</c>, <c>id2label</c> and <c>label2id</c>), so <c>AutoModelForSequenceClassification</c> loads the head.</remarks>
    /// <exception cref="IOException">A file could not be written.</exception>
    public void SaveMerged(string outputDirectory, DType? dtype = null, long maxShardBytes = ShardedCheckpointWriter.DefaultMaxShardBytes,
        IReadOnlyList<string>? labelNames = null)
    {
        System.IO.Directory.CreateDirectory(outputDirectory);
        Model.MergeAdapters();
        var storeType = dtype ?? Config.WeightDType ?? DType.Float32;
        ShardedCheckpointWriter.Write(outputDirectory, Model.NamedWeights().ToList(), storeType, maxShardBytes);
        if (Model.ScoreHead is { } head) SaveClassifierConfig(outputDirectory, head.NumLabels, labelNames);
        else Config.Save(outputDirectory);
        foreach (string f in new[] { "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json" })
        {
            string src = Path.Combine(Directory, f);
            if (File.Exists(src)) File.Copy(src, Path.Combine(outputDirectory, f), overwrite: true);
        }
    }

    // transformers names the head class after the causal-LM one (LlamaForCausalLM → LlamaForSequenceClassification).
    private void SaveClassifierConfig(string outputDirectory, int numLabels, IReadOnlyList<string>? labelNames)
    {
        var architectures = Config.Architectures.Select(a => a.EndsWith("ForCausalLM", StringComparison.Ordinal)
            ? a[..^"ForCausalLM".Length] + "ForSequenceClassification" : a).ToArray();
        var root = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse((Config with { Architectures = architectures }).ToJson())!;
        var id2label = new System.Text.Json.Nodes.JsonObject();
        var label2id = new System.Text.Json.Nodes.JsonObject();
        for (int i = 0; i < numLabels; i++)
        {
            string name = labelNames is not null && i < labelNames.Count ? labelNames[i] : $"LABEL_{i}";
            id2label[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = name;
            label2id[name] = i;
        }
        root["id2label"] = id2label;
        root["label2id"] = label2id;
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(root.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
        AtomicFile.Write(Path.Combine(outputDirectory, ModelConfig.FileName), stream => stream.Write(bytes));
    }

    /// <summary>Frees the model.</summary>
    public void Dispose() => Model.Dispose();
}
