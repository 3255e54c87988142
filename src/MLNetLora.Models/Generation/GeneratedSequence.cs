namespace MLNetLora.Models.Generation;

/// <summary>Why a row stopped growing.</summary>
public enum FinishReason
{
    /// <summary>It produced a stop token (kept as its last token).</summary>
    Stop,

    /// <summary>It reached <see cref="GenerationOptions.MaxNewTokens"/>.</summary>
    Length,
}

/// <summary>One row of a generation: its prompt and new tokens, without padding, and the decoded continuation.</summary>
/// <param name="TokenIds">Prompt ids followed by the generated ids (a stop token included).</param>
/// <param name="PromptLength">How many of <paramref name="TokenIds"/> are the prompt.</param>
/// <param name="Text">The generated ids decoded (the prompt not included); null when the generator has no tokenizer.</param>
/// <param name="FinishReason">Why generation ended for this row.</param>
public sealed record GeneratedSequence(IReadOnlyList<int> TokenIds, int PromptLength, string? Text, FinishReason FinishReason)
{
    /// <summary>The generated ids only.</summary>
    public IReadOnlyList<int> NewTokenIds => TokenIds.Skip(PromptLength).ToArray();
}
