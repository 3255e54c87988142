using System.Text.Json;
using Microsoft.ML.Runtime;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;

namespace MLNetLora.ML;

/// <summary>
/// A fitted LoRA text classifier. <see cref="LoraTransformer.Transform"/> adds the predicted-label
/// column (a key type whose KeyValues are the class names) and the score column (class
/// probabilities), scoring rows in batches; PredictionEngine scores one row per call. Saved with
/// <c>mlContext.Model.Save</c>; a process that only loads calls <see cref="MLNetLoraCatalog.Register"/> first.
/// </summary>
public sealed class LoraClassificationTransformer : LoraTransformer
{
    internal const string LoaderSignature = "MLNetLoraClassifier";
    private readonly ClassificationScorer scorer;

    internal LoraClassificationTransformer(PretrainedModel pretrained, LoraSettings lora, ModelFingerprint fingerprint, bool embed,
        IReadOnlyList<string> labelNames, int batchSize, int maxLength,
        string textColumn, string? sentence2Column, string scoreColumn, string predictedLabelColumn)
        : base(pretrained, lora, fingerprint, embed)
    {
        LabelNames = labelNames;
        TextColumnName = textColumn;
        Sentence2ColumnName = sentence2Column;
        ScoreColumnName = scoreColumn;
        PredictedLabelColumnName = predictedLabelColumn;
        scorer = new ClassificationScorer(pretrained, labelNames, batchSize, maxLength, textColumn, sentence2Column, predictedLabelColumn, scoreColumn);
    }

    /// <summary>Class names, in the order of the score vector (the label's KeyValues).</summary>
    public IReadOnlyList<string> LabelNames { get; }

    /// <inheritdoc/>
    private protected override IReadOnlyList<string>? ClassNames => LabelNames;

    /// <summary>The input text column.</summary>
    public string TextColumnName { get; }

    /// <summary>The second text column of sentence-pair models, or null.</summary>
    public string? Sentence2ColumnName { get; }

    /// <summary>The output score column.</summary>
    public string ScoreColumnName { get; }

    /// <summary>The output predicted-label column.</summary>
    public string PredictedLabelColumnName { get; }

    /// <summary>Rows per forward pass when scoring.</summary>
    public int BatchSize => scorer.BatchSize;

    private protected override TextScorer Scorer => scorer;

    private protected override string Signature => "LORACLSF";

    private protected override string LoaderSignatureOfType => LoaderSignature;

    private protected override object SavedSettings => new Settings(LabelNames.ToArray(), TextColumnName, Sentence2ColumnName, ScoreColumnName,
        PredictedLabelColumnName, scorer.BatchSize, scorer.MaxLength);

    /// <summary>Probabilities of each text, in batches of <see cref="BatchSize"/>.</summary>
    public float[][] ScoreTexts(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ThrowIfDisposed();
        return scorer.Probabilities(texts.Select(t => new[] { t }).ToArray());
    }

    /// <summary>Loader called by ML.NET through the registration of <see cref="MLNetLoraCatalog.Register"/>; <paramref name="ctx"/> is its ModelLoadContext.</summary>
    internal static LoraClassificationTransformer Create(IHostEnvironment env, object ctx)
    {
        var s = JsonSerializer.Deserialize<Settings>(MLNetInternals.Read(ctx, "Meta"))
            ?? throw new InvalidDataException("The saved LoRA classifier has empty metadata.");
        var device = DeviceSelection.Resolve(env, null, "MLContext", null);
        var (pretrained, lora, fingerprint, embedded) = ModelPackage.Load(env, ctx, device, "LoRA classifier");
        if (pretrained.Model.ScoreHead?.NumLabels != s.LabelNames.Length)
        {
            pretrained.Dispose();
            throw new InvalidDataException($"The saved adapter's classification head does not have {s.LabelNames.Length} classes.");
        }
        return new LoraClassificationTransformer(pretrained, lora, fingerprint, embedded, s.LabelNames, s.BatchSize, s.MaxLength,
            s.TextColumn, s.Sentence2Column, s.ScoreColumn, s.PredictedLabelColumn);
    }

    private sealed record Settings(string[] LabelNames, string TextColumn, string? Sentence2Column, string ScoreColumn,
        string PredictedLabelColumn, int BatchSize, int MaxLength);
}
