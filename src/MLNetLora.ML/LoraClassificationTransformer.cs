using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLNetLora.LibTorch;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;

namespace MLNetLora.ML;

/// <summary>
/// A fitted LoRA text classifier. <see cref="Transform"/> adds the predicted-label column (a key type
/// whose KeyValues are the class names) and the score column (class probabilities), scoring rows in
/// batches. Saved with <c>mlContext.Model.Save</c> as the base-model path plus the adapter (PEFT
/// bytes), never the base weights; loading needs <see cref="MLNetLoraCatalog.Register"/> first.
/// </summary>
public sealed class LoraClassificationTransformer : ITransformer, ICanSaveModel, IDisposable
{
    internal const string LoaderSignature = "MLNetLoraClassifier";
    private const string ModelSignature = "LORACLSF";
    private const uint Version = 0x00010001;

    private readonly LoraClassifierModel model;
    private bool disposed;

    internal LoraClassificationTransformer(LoraClassifierModel model, string baseModelPath, IReadOnlyList<string> labelNames,
        string textColumn, string scoreColumn, string predictedLabelColumn)
    {
        this.model = model;
        BaseModelPath = baseModelPath;
        LabelNames = labelNames;
        TextColumnName = textColumn;
        ScoreColumnName = scoreColumn;
        PredictedLabelColumnName = predictedLabelColumn;
    }

    /// <summary>The Hugging Face folder of the base model (stored in saved models; it must exist where they are loaded).</summary>
    public string BaseModelPath { get; }

    /// <summary>Class names, in the order of the score vector (the label's KeyValues).</summary>
    public IReadOnlyList<string> LabelNames { get; }

    /// <summary>The input text column.</summary>
    public string TextColumnName { get; }

    /// <summary>The output score column.</summary>
    public string ScoreColumnName { get; }

    /// <summary>The output predicted-label column.</summary>
    public string PredictedLabelColumnName { get; }

    /// <summary>Rows per forward pass when scoring.</summary>
    public int BatchSize => model.BatchSize;

    /// <summary>False: scoring is batched over a cursor, so no row-to-row mapper (and no PredictionEngine) is offered.</summary>
    public bool IsRowToRowMapper => false;

    /// <summary>Not supported; use <see cref="Transform"/>.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("LoraClassificationTransformer scores in batches and has no row-to-row mapper (so no PredictionEngine); call Transform on an IDataView, e.g. mlContext.Data.LoadFromEnumerable of your rows.");

    /// <summary>The input schema plus the predicted-label and score columns.</summary>
    /// <exception cref="ArgumentException">The text column is missing or not text.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaChecks.TextColumn(inputSchema, TextColumnName);
        var b = new DataViewSchema.Builder();
        b.AddColumns(inputSchema);
        b.AddColumn(PredictedLabelColumnName, new KeyDataViewType(typeof(uint), LabelNames.Count), NamesAnnotation(key: true));
        b.AddColumn(ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single, LabelNames.Count), NamesAnnotation(key: false));
        return b.ToSchema();
    }

    /// <summary>Adds the predicted label and scores (lazily: rows are scored in batches as a cursor reads them).</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ObjectDisposedException.ThrowIf(disposed, this);
        return new LoraScoredDataView(input, GetOutputSchema(input.Schema), this);
    }

    /// <summary>Probabilities of each text, in batches of <see cref="BatchSize"/>.</summary>
    public float[][] ScoreTexts(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ObjectDisposedException.ThrowIf(disposed, this);
        return model.Score(texts);
    }

    /// <summary>Writes the adapter and classification head as a Hugging Face PEFT folder (adapter_config.json, adapter_model.safetensors).</summary>
    public void ExportAdapter(string directory)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        PeftAdapterIO.Save(model.Pretrained.Model, model.Lora, directory, BaseModelPath);
    }

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        string tmp = Path.Combine(Path.GetTempPath(), "mlnetlora-" + Guid.NewGuid().ToString("N"));
        try
        {
            ExportAdapter(tmp);
            var meta = new SavedMeta(BaseModelPath, LabelNames.ToArray(), TextColumnName, ScoreColumnName, PredictedLabelColumnName,
                model.BatchSize, model.MaxLength, model.Pretrained.Model.Device.ToString());
            MLNetInternals.Save(ctx, ModelSignature, Version, LoaderSignature, new Dictionary<string, byte[]>
            {
                ["Meta"] = JsonSerializer.SerializeToUtf8Bytes(meta),
                ["AdapterConfig"] = File.ReadAllBytes(Path.Combine(tmp, PeftAdapterIO.ConfigFileName)),
                ["AdapterWeights"] = File.ReadAllBytes(Path.Combine(tmp, PeftAdapterIO.WeightsFileName)),
            });
        }
        finally
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        }
    }

    /// <summary>Loader called by ML.NET through the registration of <see cref="MLNetLoraCatalog.Register"/>; <paramref name="ctx"/> is its ModelLoadContext.</summary>
    internal static LoraClassificationTransformer Create(IHostEnvironment env, object ctx)
    {
        var meta = JsonSerializer.Deserialize<SavedMeta>(MLNetInternals.Read(ctx, "Meta"))
            ?? throw new InvalidDataException("The saved LoRA classifier has empty metadata.");
        string baseModel = MLNetLoraCatalog.BaseModelOverride(env.ComponentCatalog) ?? meta.BaseModelPath;
        if (!Directory.Exists(baseModel))
            throw new DirectoryNotFoundException($"The saved LoRA classifier needs its base model at '{baseModel}' (only the adapter is stored in the zip). " +
                "Put the Hugging Face folder there, or call MLNetLoraCatalog.Register(mlContext, baseModelDirectory: ...) before mlContext.Model.Load.");
        string tmp = Path.Combine(Path.GetTempPath(), "mlnetlora-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(tmp);
        try
        {
            File.WriteAllBytes(Path.Combine(tmp, PeftAdapterIO.ConfigFileName), MLNetInternals.Read(ctx, "AdapterConfig"));
            File.WriteAllBytes(Path.Combine(tmp, PeftAdapterIO.WeightsFileName), MLNetInternals.Read(ctx, "AdapterWeights"));
            var device = LibTorch.Device.Parse(meta.Device);
            var pretrained = PretrainedModel.Load(baseModel, device);
            try
            {
                var lora = PeftAdapterIO.Load(pretrained.Model, tmp);
                if (pretrained.Model.ScoreHead?.NumLabels != meta.LabelNames.Length)
                    throw new InvalidDataException($"The saved adapter's classification head does not have {meta.LabelNames.Length} classes.");
                var m = new LoraClassifierModel(pretrained, lora, meta.BatchSize, meta.MaxLength);
                return new LoraClassificationTransformer(m, baseModel, meta.LabelNames, meta.TextColumn, meta.ScoreColumn, meta.PredictedLabelColumn);
            }
            catch
            {
                pretrained.Dispose();
                throw;
            }
        }
        finally
        {
            Directory.Delete(tmp, recursive: true);
        }
    }

    /// <summary>Frees the model's native memory.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        model.Dispose();
    }

    private DataViewSchema.Annotations NamesAnnotation(bool key)
    {
        var ab = new DataViewSchema.Annotations.Builder();
        ValueGetter<VBuffer<ReadOnlyMemory<char>>> getter = (ref VBuffer<ReadOnlyMemory<char>> dst) =>
            dst = new VBuffer<ReadOnlyMemory<char>>(LabelNames.Count, LabelNames.Select(n => n.AsMemory()).ToArray());
        ab.Add(key ? "KeyValues" : "SlotNames", new VectorDataViewType(TextDataViewType.Instance, LabelNames.Count), getter);
        return ab.ToAnnotations();
    }

    private sealed record SavedMeta(string BaseModelPath, string[] LabelNames, string TextColumn, string ScoreColumn,
        string PredictedLabelColumn, int BatchSize, int MaxLength, string Device);
}
