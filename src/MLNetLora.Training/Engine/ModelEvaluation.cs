using MLNetLora.LibTorch;
using MLNetLora.Models.Transformer;
using MLNetLora.Training.Data;

namespace MLNetLora.Training.Engine;

/// <summary>Totals of one evaluation pass.</summary>
/// <param name="Loss">Mean loss: per target token for causal LM, per row for classification.</param>
/// <param name="Targets">Tokens (causal LM) or rows (classification) the loss averages over.</param>
/// <param name="Accuracy">Fraction of rows whose highest score is their class (classification), else null.</param>
public sealed record EvaluationTotals(double Loss, long Targets, double? Accuracy)
{
    /// <summary>exp(<see cref="Loss"/>): the perplexity of a causal-LM evaluation.</summary>
    public double Perplexity => Math.Exp(Loss);
}

/// <summary>
/// Loss (and accuracy) of a model on examples without touching gradients: the one evaluation the
/// trainer runs during training and front ends run on a fitted model.
/// </summary>
public static class ModelEvaluation
{
    /// <summary>Evaluates <paramref name="model"/> on <paramref name="examples"/> in batches.</summary>
    /// <param name="model">The model (with its adapters and, for classification, its head).</param>
    /// <param name="examples">Rows; causal-LM rows are scored on their labels (prompt tokens excluded).</param>
    /// <param name="task">What the rows are.</param>
    /// <param name="batchSize">Rows per forward pass.</param>
    /// <param name="padId">Padding id.</param>
    /// <param name="maxLength">Longest row in tokens.</param>
    /// <returns>The totals; a loss of 0 over 0 targets when nothing could be scored.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is below 1.</exception>
    public static EvaluationTotals Evaluate(DecoderModel model, IReadOnlyList<TrainingExample> examples, TrainingTask task,
        int batchSize, int padId, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        double lossSum = 0;
        long count = 0, correct = 0, rows = 0;
        bool classify = task == TrainingTask.Classification;
        for (int i = 0; i < examples.Count; i += batchSize)
        {
            var b = Collator.Collate(examples.Skip(i).Take(batchSize).ToList(), padId, maxLength);
            using var scope = TensorScope.Begin();
            var (ids, mask) = b.ToTensors(model.Device);                                   // (B, T), (B, T) or null
            if (classify)
            {
                var (r, scores) = model.ClassificationStep(ids, mask, b.ClassLabels!, normalizer: 1, backward: false);
                using (scores)                                                             // (B, L)
                {
                    lossSum += r.Loss;
                    count += r.Targets;
                    var predicted = scores.ArgMax(-1).ToArray<long>();
                    correct += predicted.Where((p, k) => p == b.ClassLabels![k]).Count();
                    rows += b.Size;
                }
            }
            else
            {
                var r = model.CausalLmStep(ids, b.Labels, mask, normalizer: 1, backward: false);
                lossSum += r.Loss;
                count += r.Targets;
            }
        }
        return new EvaluationTotals(count == 0 ? 0 : lossSum / count, count, classify ? (double)correct / Math.Max(1, rows) : null);
    }

    /// <summary>Class probabilities (softmax of the classification head's scores) of token rows, one forward per batch.</summary>
    /// <param name="model">A model with a classification head.</param>
    /// <param name="rows">Token ids per row (special tokens included), at most <paramref name="maxLength"/> long.</param>
    /// <param name="batchSize">Rows per forward pass.</param>
    /// <param name="padId">Padding id.</param>
    /// <param name="maxLength">Longest row in tokens.</param>
    /// <returns>One probability vector per row.</returns>
    /// <exception cref="InvalidOperationException">The model has no classification head.</exception>
    public static float[][] ClassProbabilities(DecoderModel model, IReadOnlyList<int[]> rows, int batchSize, int padId, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var result = new float[rows.Count][];
        for (int start = 0; start < rows.Count; start += batchSize)
        {
            var b = Collator.Collate(rows.Skip(start).Take(batchSize).Select(r => new TrainingExample(r)).ToList(), padId, maxLength);
            float[] probs;
            using (var scope = TensorScope.Begin())
            {
                var (ids, mask) = b.ToTensors(model.Device);                               // (B, T), (B, T) or null
                using var scores = model.ClassificationScores(ids, mask);                  // (B, L)
                using var p = scores.To(DType.Float32).Softmax(-1);
                using var cpu = p.To(Device.Cpu);
                probs = cpu.ToArray<float>();
            }
            int c = probs.Length / b.Size;
            for (int r = 0; r < b.Size; r++) result[start + r] = probs.AsSpan(r * c, c).ToArray();
        }
        return result;
    }
}
