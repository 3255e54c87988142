using Microsoft.ML.Data;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Tokenization;
using MLNetLora.Training.Engine;

namespace MLNetLora.ML;

/// <summary>
/// Class probabilities of texts (or text pairs) from a base model with trained adapters and head,
/// one forward pass per batch. Forwards are serialised on this object.
/// </summary>
internal sealed class ClassificationScorer : TextScorer
{
    private readonly PretrainedModel pretrained;
    private readonly HfTokenizer tokenizer;
    private readonly ScoredColumn[] outputs;
    private readonly string[] inputs;

    public ClassificationScorer(PretrainedModel pretrained, IReadOnlyList<string> labelNames, int batchSize, int maxLength,
        string textColumn, string? sentence2Column, string predictedLabelColumn, string scoreColumn)
    {
        this.pretrained = pretrained;
        tokenizer = pretrained.RequireTokenizer();
        BatchSize = batchSize;
        MaxLength = maxLength;
        inputs = sentence2Column is null ? [textColumn] : [textColumn, sentence2Column];
        outputs =
        [
            new(predictedLabelColumn, new KeyDataViewType(typeof(uint), labelNames.Count), NamesAnnotation(labelNames, key: true)),
            new(scoreColumn, new VectorDataViewType(NumberDataViewType.Single, labelNames.Count), NamesAnnotation(labelNames, key: false)),
        ];
    }

    public override IReadOnlyList<string> InputColumns => inputs;

    public override IReadOnlyList<string> InputOptions { get; } = ["TextColumnName", "Sentence2ColumnName"];

    public override int BatchSize { get; }

    public int MaxLength { get; }

    public override IReadOnlyList<ScoredColumn> Outputs => outputs;

    /// <summary>Token ids of a row (text, or text and second sentence), cut to <see cref="MaxLength"/>, as in training.</summary>
    public int[] Encode(IReadOnlyList<string> row)
    {
        var ids = row.Count > 1 ? tokenizer.EncodePair(row[0], row[1]) : tokenizer.Encode(row[0], addSpecialTokens: true);
        return ids.Length <= MaxLength ? ids : ids[..MaxLength];
    }

    /// <summary>Class probabilities (softmax of the head's scores) of each row.</summary>
    public float[][] Probabilities(IReadOnlyList<string[]> rows)
    {
        var ids = rows.Select(Encode).ToArray();
        lock (this) return ModelEvaluation.ClassProbabilities(pretrained.Model, ids, BatchSize, pretrained.PaddingId, MaxLength);
    }

    public override object[][] Score(IReadOnlyList<string[]> rows) =>
        Probabilities(rows).Select(p => new object[] { (uint)ArgMax(p) + 1, p }).ToArray();

    private static int ArgMax(float[] v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
