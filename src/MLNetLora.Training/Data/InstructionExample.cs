using MLNetLora.Models.Tokenization;

namespace MLNetLora.Training.Data;

/// <summary>
/// How a prompt/response pair becomes a causal-LM training row, for every front end (data files, the
/// ML.NET generation trainer): the prompt with the tokenizer's special tokens (usually BOS) gets no
/// loss; the response follows without them and ends with EOS, so the model learns where to stop.
/// Generation later encodes the prompt the same way and continues after it.
/// </summary>
public static class InstructionExample
{
    /// <summary>Encodes one row; a null <paramref name="response"/> trains on the whole prompt text.</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="prompt">Prompt text (or the whole text when <paramref name="response"/> is null).</param>
    /// <param name="response">Response text, or null.</param>
    /// <param name="maxLength">Longest row in tokens; longer rows keep their start.</param>
    /// <returns>The row.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is below 1.</exception>
    public static TrainingExample Encode(HfTokenizer tokenizer, string prompt, string? response, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        var promptIds = tokenizer.Encode(prompt, addSpecialTokens: true);
        if (response is null) return new TrainingExample(Truncate(promptIds, maxLength));
        var responseIds = tokenizer.Encode(response, addSpecialTokens: false).ToList();
        if (tokenizer.EosId is int eos) responseIds.Add(eos);
        var all = promptIds.Concat(responseIds).ToArray();
        return new TrainingExample(Truncate(all, maxLength), Math.Min(promptIds.Length, maxLength));
    }

    /// <summary>
    /// Encodes one row, through <paramref name="template"/> when given (the prompt as a user turn, the
    /// response as the assistant's; see <see cref="ChatExample"/>), else as <see cref="Encode(HfTokenizer, string, string?, int)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A template is given but <paramref name="response"/> is null (a chat row needs the assistant's text).</exception>
    /// <exception cref="Models.Templating.TemplateException">The template refused the conversation.</exception>
    public static TrainingExample Encode(HfTokenizer tokenizer, string prompt, string? response, int maxLength, ChatTemplate? template)
    {
        if (template is null) return Encode(tokenizer, prompt, response, maxLength);
        if (response is null) throw new ArgumentException("A chat-template row needs a response: the assistant's turn is what is learned.", nameof(response));
        return ChatExample.Encode(tokenizer, template, [new ChatMessage("user", prompt), new ChatMessage(ChatMessage.AssistantRole, response)], maxLength);
    }

    private static int[] Truncate(int[] ids, int max) => ids.Length <= max ? ids : ids[..max];
}
