using MLNetLora.LibTorch;

namespace MLNetLora.Models.Transformer;

public sealed partial class DecoderModel
{
    /// <summary>Loss of one batch and, when asked, the gradient of the input embeddings.</summary>
    /// <param name="Loss">Summed loss divided by the normaliser.</param>
    /// <param name="Targets">Number of real targets in this batch.</param>
    /// <param name="DEmbeddings">Gradient of the input embeddings (B, T, C), when backward ran; the caller disposes it.</param>
    public sealed record StepResult(double Loss, long Targets, Tensor? DEmbeddings);

    /// <summary>
    /// Causal-LM loss (next-token cross-entropy; labels equal to -100 are ignored) and, when
    /// <paramref name="backward"/>, accumulation of every LoRA gradient.
    /// </summary>
    /// <param name="inputIds">(B, T) int64.</param>
    /// <param name="labels">(B·T) labels aligned with the inputs (shifted inside), -100 to ignore.</param>
    /// <param name="attentionMask">(B, T) 1/0, or null.</param>
    /// <param name="normalizer">Divides the summed loss; null = this batch's target count (a mean).</param>
    /// <param name="backward">Run backward and accumulate gradients.</param>
    /// <param name="dropout">LoRA dropout generator (training), or null.</param>
    public StepResult CausalLmStep(Tensor inputIds, long[] labels, Tensor? attentionMask = null, double? normalizer = null,
        bool backward = true, Generator? dropout = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        int b = (int)inputIds.Size(0), t = (int)inputIds.Size(1);
        var targets = CrossEntropy.ShiftForCausalLm(labels, b, t);
        long count = CrossEntropy.CountTargets(targets);
        double norm = normalizer ?? Math.Max(1, count);
        using var scope = TensorScope.Begin();
        using var pass = Forward(inputIds, attentionMask, training: backward, dropout: dropout);
        var (loss, dHidden) = LmHeadLoss(pass.Hidden, targets, norm, backward);          // dHidden (B, T, C)
        if (!backward) return new StepResult(loss, count, null);
        var dEmb = Backward(pass, dHidden!);
        return new StepResult(loss, count, scope.Keep(dEmb).DetachFromScopes());
    }

    /// <summary>
    /// Sequence-classification loss (cross-entropy of the score head at each row's last real token)
    /// and, when <paramref name="backward"/>, accumulation of LoRA and head gradients.
    /// </summary>
    /// <param name="inputIds">(B, T) int64.</param>
    /// <param name="attentionMask">(B, T) 1/0, or null.</param>
    /// <param name="classLabels">One class per row (B).</param>
    /// <param name="normalizer">Divides the summed loss; null = B.</param>
    /// <param name="backward">Run backward.</param>
    /// <param name="dropout">LoRA dropout generator, or null.</param>
    /// <exception cref="InvalidOperationException">No classification head was added.</exception>
    public (StepResult Result, Tensor Scores) ClassificationStep(Tensor inputIds, Tensor? attentionMask, long[] classLabels,
        double? normalizer = null, bool backward = true, Generator? dropout = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(classLabels);
        var head = ScoreHead ?? throw new InvalidOperationException("Add a classification head (AddClassificationHead) before a classification step.");
        int b = (int)inputIds.Size(0), t = (int)inputIds.Size(1);
        var last = LastTokenIndex(attentionMask, b, t);
        using var scope = TensorScope.Begin();
        using var pass = Forward(inputIds, attentionMask, training: backward, dropout: dropout);
        var pooled = ClassificationHead.Pool(pass.Hidden, last);                          // (B, C)
        var scores = head.Forward(pooled);                                                // (B, L)
        double norm = normalizer ?? b;
        var (loss, dScores) = CrossEntropy.Compute(scores, classLabels, norm, backward);
        Tensor? dEmb = null;
        if (backward)
        {
            var dPooled = head.Backward(dScores!, pooled);                                // (B, C)
            var dHidden = ClassificationHead.PoolBackward(dPooled, last, t);              // (B, T, C)
            dEmb = scope.Keep(Backward(pass, dHidden)).DetachFromScopes();
        }
        return (new StepResult(loss, CrossEntropy.CountTargets(classLabels), dEmb), scope.Keep(scores).DetachFromScopes());
    }

    /// <summary>
    /// Classification scores for scoring (no labels, no loss, no backward): the score head at each
    /// row's last real token.
    /// </summary>
    /// <param name="inputIds">(B, T) int64.</param>
    /// <param name="attentionMask">(B, T) 1/0 (right padding), or null.</param>
    /// <returns>Scores (B, L) in the compute dtype, outside any scope; the caller disposes them.</returns>
    /// <exception cref="InvalidOperationException">No classification head was added.</exception>
    public Tensor ClassificationScores(Tensor inputIds, Tensor? attentionMask)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        var head = ScoreHead ?? throw new InvalidOperationException("Add a classification head (AddClassificationHead) before scoring.");
        int b = (int)inputIds.Size(0), t = (int)inputIds.Size(1);
        var last = LastTokenIndex(attentionMask, b, t);
        using var scope = TensorScope.Begin();
        using var pass = Forward(inputIds, attentionMask, training: false, dropout: null);
        var scores = head.Forward(ClassificationHead.Pool(pass.Hidden, last));            // (B, L)
        return scope.Keep(scores).DetachFromScopes();
    }

    /// <summary>Position of each row's last real token (right padding), or T-1 without a mask.</summary>
    public static long[] LastTokenIndex(Tensor? attentionMask, int batch, int time)
    {
        var last = Enumerable.Repeat((long)time - 1, batch).ToArray();
        if (attentionMask is null) return last;
        var m = attentionMask.ToArray<long>();
        for (int b = 0; b < batch; b++)
        {
            long idx = -1;
            for (int t = 0; t < time; t++) if (m[b * time + t] != 0) idx = t;
            last[b] = idx < 0 ? time - 1 : idx;
        }
        return last;
    }
}
