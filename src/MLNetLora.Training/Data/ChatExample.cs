using MLNetLora.Models.Tokenization;

namespace MLNetLora.Training.Data;

/// <summary>
/// How a conversation becomes a causal-LM training row: the model's chat template renders it, the text
/// is tokenized once without added specials (the template writes them, as <c>apply_chat_template</c>
/// does), and only the assistant turns get a loss.
/// </summary>
public static class ChatExample
{
    /// <summary>Encodes one conversation.</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="template">Its chat template.</param>
    /// <param name="messages">The conversation; it needs at least one assistant turn.</param>
    /// <param name="maxLength">Longest row in tokens; longer rows keep their start.</param>
    /// <returns>The row, with a loss mask over the assistant tokens.</returns>
    /// <exception cref="Models.Templating.TemplateException">The template refused the conversation or cannot mark its assistant turns.</exception>
    /// <exception cref="ArgumentException">The conversation has no assistant turn.</exception>
    public static TrainingExample Encode(HfTokenizer tokenizer, ChatTemplate template, IReadOnlyList<ChatMessage> messages, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        if (!messages.Any(m => m.Role == ChatMessage.AssistantRole))
            throw new ArgumentException("The conversation has no assistant message, so there is nothing to learn from it.", nameof(messages));
        var rendered = template.RenderForTraining(messages);
        int[] ids = tokenizer.Encode(rendered.Text, addSpecialTokens: false);
        var mask = new bool[ids.Length];
        foreach (var (start, end) in rendered.AssistantSpans)
        {
            // A span's token bounds are where the encodings of the text before each bound stop agreeing with
            // the whole encoding, so the mask follows the real tokenization even where a token spans a bound.
            int from = SharedPrefix(tokenizer.Encode(rendered.Text[..start], addSpecialTokens: false), ids);
            int to = SharedPrefix(tokenizer.Encode(rendered.Text[..end], addSpecialTokens: false), ids);
            for (int k = from; k < Math.Max(from, to); k++) mask[k] = true;
        }
        int n = Math.Min(ids.Length, maxLength);
        return new TrainingExample(ids[..n], LossMask: mask[..n]);
    }

    private static int SharedPrefix(int[] a, int[] b)
    {
        int n = 0;
        while (n < a.Length && n < b.Length && a[n] == b[n]) n++;
        return n;
    }
}
