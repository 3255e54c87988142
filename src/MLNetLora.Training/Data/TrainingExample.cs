namespace MLNetLora.Training.Data;

/// <summary>
/// One tokenized training row. For causal LM the labels are the input ids with the first
/// <see cref="PromptLength"/> tokens ignored (only the response is learned), or, for conversations,
/// only the tokens <see cref="LossMask"/> marks (the assistant turns); for classification
/// <see cref="ClassLabel"/> holds the class index.
/// </summary>
/// <param name="InputIds">Token ids, special tokens included.</param>
/// <param name="PromptLength">Leading tokens that get no loss.</param>
/// <param name="ClassLabel">Class index for classification rows.</param>
/// <param name="LossMask">Per token, whether it is learned; null = every token from <paramref name="PromptLength"/> on.</param>
public sealed record TrainingExample(int[] InputIds, int PromptLength = 0, int? ClassLabel = null, bool[]? LossMask = null)
{
    /// <summary>Whether token <paramref name="i"/> gets a loss.</summary>
    public bool IsLearned(int i) => LossMask is { } m ? i < m.Length && m[i] : i >= PromptLength;
}

/// <summary>A padded batch in row-major host arrays, ready to become tensors.</summary>
/// <param name="InputIds">(B·T) ids, padded with the pad id.</param>
/// <param name="AttentionMask">(B·T) 1 for real tokens, 0 for padding.</param>
/// <param name="Labels">(B·T) causal-LM labels, -100 for prompt and padding.</param>
/// <param name="ClassLabels">(B) class indices, for classification.</param>
/// <param name="Size">B.</param>
/// <param name="Length">T.</param>
public sealed record Batch(long[] InputIds, long[] AttentionMask, long[] Labels, long[]? ClassLabels, int Size, int Length)
{
    /// <summary>Whether any row is padded.</summary>
    public bool HasPadding => AttentionMask.Any(m => m == 0);

    /// <summary>Number of real (unpadded) tokens, for tokens/s.</summary>
    public long RealTokens => AttentionMask.Sum();
}
