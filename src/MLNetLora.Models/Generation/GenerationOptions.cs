namespace MLNetLora.Models.Generation;

/// <summary>
/// How <see cref="TextGenerator"/> picks tokens and when it stops. The defaults are transformers'
/// <c>GenerationConfig</c> defaults (greedy; when sampling, temperature 1, top-k 50, top-p 1) except
/// <see cref="MaxNewTokens"/>, which transformers leaves to <c>max_length=20</c> counted with the prompt.
/// </summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens generated per row, not counting the prompt (at least 1).</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>Sample from the processed distribution; false picks the most likely token (greedy).</summary>
    public bool DoSample { get; init; }

    /// <summary>Divides the logits before sampling (strictly positive; below 1 sharpens). Ignored when greedy.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Keep only the <c>k</c> most likely tokens when sampling; 0 disables. Ignored when greedy.</summary>
    public int TopK { get; init; } = 50;

    /// <summary>Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches this (0, 1]; 1 disables.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>
    /// CTRL repetition penalty (transformers' <c>repetition_penalty</c>): the logit of every token already in
    /// the row (prompt or generated; padding excluded) is divided by it when positive and multiplied when
    /// negative. 1 disables; applies to greedy decoding too.
    /// </summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>Seed of the <see cref="LibTorch.Generator"/> used for sampling: the same seed gives the same tokens.</summary>
    public ulong Seed { get; init; }

    /// <summary>Ids that end a row (it keeps the stop token). Null uses the generator's defaults (tokenizer and config EOS ids).</summary>
    public IReadOnlyCollection<int>? StopTokenIds { get; init; }

    /// <summary>
    /// Texts that end a row once its decoded continuation contains one (transformers' <c>stop_strings</c>:
    /// the text is kept up to and including the stop string's tokens). Needs a tokenizer. Null or empty disables.
    /// </summary>
    public IReadOnlyList<string>? StopStrings { get; init; }

    /// <summary>For text prompts: add what the tokenizer's post-processor adds (usually BOS).</summary>
    public bool AddSpecialTokens { get; init; } = true;

    /// <summary>Leave special tokens (such as EOS) out of the decoded text.</summary>
    public bool SkipSpecialTokens { get; init; } = true;

    /// <summary>Greedy decoding of up to <paramref name="maxNewTokens"/> tokens.</summary>
    /// <param name="maxNewTokens">Most tokens generated per row.</param>
    /// <returns>The options.</returns>
    public static GenerationOptions Greedy(int maxNewTokens) => new() { MaxNewTokens = maxNewTokens };

    /// <summary>Seeded sampling of up to <paramref name="maxNewTokens"/> tokens.</summary>
    /// <param name="maxNewTokens">Most tokens generated per row.</param>
    /// <param name="seed">Generator seed.</param>
    /// <param name="temperature">See <see cref="Temperature"/>.</param>
    /// <param name="topK">See <see cref="TopK"/>.</param>
    /// <param name="topP">See <see cref="TopP"/>.</param>
    /// <returns>The options.</returns>
    public static GenerationOptions Sampling(int maxNewTokens, ulong seed, double temperature = 1.0, int topK = 50, double topP = 1.0) =>
        new() { MaxNewTokens = maxNewTokens, DoSample = true, Seed = seed, Temperature = temperature, TopK = topK, TopP = topP };

    /// <summary>Checks every value's range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is outside its range; the message names it.</exception>
    public void Validate()
    {
        if (MaxNewTokens < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "MaxNewTokens must be at least 1.");
        if (!(Temperature > 0) || double.IsInfinity(Temperature))
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature,
                "Temperature must be a positive finite number; for deterministic output use greedy decoding (DoSample = false).");
        if (TopK < 0)
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "TopK must be 0 (disabled) or positive.");
        if (!(TopP > 0 && TopP <= 1))
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "TopP must be in (0, 1]; 1 disables nucleus filtering.");
        if (StopStrings?.Any(string.IsNullOrEmpty) == true)
            throw new ArgumentOutOfRangeException(nameof(StopStrings), "StopStrings must not contain an empty string (it would stop every row at once).");
        if (!(RepetitionPenalty > 0) || double.IsInfinity(RepetitionPenalty))
            throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), RepetitionPenalty, "RepetitionPenalty must be a positive finite number; 1 disables it.");
    }
}
