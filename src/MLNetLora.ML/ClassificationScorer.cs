using Microsoft.ML.Data;
using MLNetLora.LibTorch;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Tokenization;
using MLNetLora.Training.Data;

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
        var result = new float[rows.Count][];
        for (int start = 0; start < rows.Count; start += BatchSize)
        {
            var batch = rows.Skip(start).Take(BatchSize).Select(r => new TrainingExample(Encode(r))).ToList();
            var b = Collator.Collate(batch, pretrained.PaddingId, MaxLength);
            float[] probs;
            lock (this)
            {
                using var scope = TensorScope.Begin();
                var (ids, mask) = b.ToTensors(pretrained.Model.Device);                   // (B, T), (B, T) or null
                using (var scores = pretrained.Model.ClassificationScores(ids, mask))     // (B, L)
                using (var p = scores.To(DType.Float32).Softmax(-1))
                using (var cpu = p.To(Device.Cpu))
                    probs = cpu.ToArray<float>();
            }
            int c = probs.Length / b.Size;
            for (int r = 0; r < b.Size; r++) result[start + r] = probs.AsSpan(r * c, c).ToArray();
        }
        return result;
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
