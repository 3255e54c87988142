using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetLora.LibTorch;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;

namespace MLNetLora.ML;

/// <summary>
/// What both fitted LoRA transformers share: the base model with its trained adapters, batched
/// <see cref="Transform"/>, a row-to-row mapper for <c>mlContext.Model.CreatePredictionEngine</c>,
/// <c>mlContext.Model.Save</c> (adapter, base-model path and fingerprint, optionally the base model
/// itself) and export in Hugging Face formats.
/// </summary>
/// <remarks>
/// Thread safety: a transformer may be shared by threads; its forward passes are serialised. A
/// PredictionEngine is not thread-safe (ML.NET's rule): create one per thread, or use a pool such
/// as Microsoft.Extensions.ML's <c>PredictionEnginePool</c>.
/// </remarks>
public abstract class LoraTransformer : ITransformer, ICanSaveModel, IDisposable
{
    private bool disposed;

    private protected LoraTransformer(PretrainedModel pretrained, LoraSettings lora, ModelFingerprint fingerprint, bool embedBaseModel)
    {
        Pretrained = pretrained;
        Lora = lora;
        BaseModelFingerprint = fingerprint;
        EmbedBaseModel = embedBaseModel;
    }

    /// <summary>The Hugging Face folder of the base model this transformer runs on.</summary>
    public string BaseModelPath => Pretrained.Directory;

    /// <summary>The base model's fingerprint recorded at training time; <c>Model.Load</c> refuses a folder that does not match it.</summary>
    public ModelFingerprint BaseModelFingerprint { get; }

    /// <summary>Whether <c>mlContext.Model.Save</c> stores the base model's files in the zip.</summary>
    public bool EmbedBaseModel { get; }

    /// <summary>The adapter's rank, alpha and targets.</summary>
    public LoraSettings Lora { get; }

    /// <summary>True: the transformer maps one row to one row, so PredictionEngine works (Transform still scores in batches).</summary>
    public bool IsRowToRowMapper => true;

    private protected PretrainedModel Pretrained { get; }

    /// <summary>A classifier's class names, written as <c>id2label</c> by <see cref="ExportMerged"/>; null for generation.</summary>
    private protected virtual IReadOnlyList<string>? ClassNames => null;

    private protected abstract TextScorer Scorer { get; }

    private protected abstract string Signature { get; }

    private protected abstract string LoaderSignatureOfType { get; }

    private protected abstract object SavedSettings { get; }

    /// <summary>The input schema plus this transformer's output columns.</summary>
    /// <exception cref="ArgumentException">An input text column is missing or not text.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return Scorer.OutputSchema(inputSchema);
    }

    /// <summary>Adds the output columns, computed lazily in batches as a cursor reads the rows.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ThrowIfDisposed();
        return new ScoredDataView(input, GetOutputSchema(input.Schema), Scorer);
    }

    /// <summary>A mapper scoring one row per call (what PredictionEngine uses).</summary>
    /// <exception cref="ArgumentException">An input text column is missing or not text.</exception>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ThrowIfDisposed();
        return new ScoredRowMapper(inputSchema, GetOutputSchema(inputSchema), Scorer);
    }

    /// <summary>Writes the adapter (and a classification head) as a Hugging Face PEFT folder (adapter_config.json, adapter_model.safetensors).</summary>
    /// <param name="directory">Target folder.</param>
    public void ExportAdapter(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ThrowIfDisposed();
        lock (Scorer) PeftAdapterIO.Save(Pretrained.Model, Lora, directory, BaseModelPath);
    }

    /// <summary>
    /// Writes the base model with the adapter merged into its weights as a Hugging Face folder
    /// (config, model.safetensors, tokenizer files), loadable without PEFT. A fresh copy of the base is
    /// merged on the CPU, so this transformer keeps working.
    /// </summary>
    /// <param name="directory">Target folder.</param>
    public void ExportMerged(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ThrowIfDisposed();
        if (Pretrained.Model.Adapters.Count == 0)
        {
            // Fully fine-tuned: the weights are the model, and there is nothing to merge (nor is the base on disk the model).
            lock (Scorer) Pretrained.SaveMerged(directory, Pretrained.Model.ComputeDType, labelNames: ClassNames);
            return;
        }
        string tmp = Path.Combine(Path.GetTempPath(), "mlnetlora-" + Guid.NewGuid().ToString("N"));
        try
        {
            ExportAdapter(tmp);
            using var copy = PretrainedModel.Load(BaseModelPath, Device.Cpu);
            PeftAdapterIO.Load(copy.Model, tmp);
            copy.SaveMerged(directory, Pretrained.Config.WeightDType, labelNames: ClassNames);
        }
        finally
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        }
    }

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        ThrowIfDisposed();
        MLNetInternals.BeginSave(ctx, Signature, SavedVersion, LoaderSignatureOfType);
        MLNetInternals.WriteEntry(ctx, "Meta", s => JsonSerializer.Serialize(s, SavedSettings, SavedSettings.GetType()));
        lock (Scorer) ModelPackage.Save(ctx, Pretrained, Lora, BaseModelFingerprint, EmbedBaseModel);
    }

    /// <summary>The format version written into saved models.</summary>
    internal const uint SavedVersion = 0x00010002;

    /// <summary>Frees the model's native memory.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the model.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (disposed) return;
        disposed = true;
        if (disposing) Pretrained.Dispose();
    }

    // ML.NET's PredictionEngine disposes the model it was made from unless told otherwise, which is
    // the usual way a shared LoRA model gets disposed by surprise; say so.
    private protected void ThrowIfDisposed()
    {
        if (disposed)
            throw new ObjectDisposedException(GetType().Name, "This LoRA transformer was disposed. Disposing a PredictionEngine disposes the model it was " +
                "created from (ML.NET's default, PredictionEngineOptions.OwnsTransformer = true); create engines with " +
                "mlContext.Model.CreatePredictionEngine<TIn, TOut>(model, new PredictionEngineOptions { OwnsTransformer = false }) to share one model.");
    }
}
