using MLNetLora.Models.Tokenization;

namespace MLNetLora.Models.Generation;

/// <summary>
/// Generation in chat form: the prompt becomes a user turn (after an optional system turn) rendered by the
/// model's chat template with the generation prompt, and the reply stops at the token that ends a turn.
/// </summary>
public static class ChatPrompt
{
    /// <summary>Renders the conversation to continue and adapts <paramref name="options"/> to it.</summary>
    /// <param name="generator">The generator (its default stop ids are kept).</param>
    /// <param name="template">The chat template.</param>
    /// <param name="user">The user's message.</param>
    /// <param name="system">A system message, or null.</param>
    /// <param name="options">The decoding options to adapt.</param>
    /// <returns>The prompt text and options that add no specials (the template writes them) and also stop at the end of the turn.</returns>
    /// <exception cref="Templating.TemplateException">The template cannot render the conversation.</exception>
    public static (string Prompt, GenerationOptions Options) Prepare(TextGenerator generator, ChatTemplate template, string user, string? system, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(options);
        var messages = new List<ChatMessage>();
        if (system is not null) messages.Add(new ChatMessage("system", system));
        messages.Add(new ChatMessage("user", user));
        string prompt = template.Render(messages, addGenerationPrompt: true);
        var stops = new HashSet<int>(options.StopTokenIds ?? generator.DefaultStopTokenIds);
        if (template.EndOfTurnText() is string eot && generator.Tokenizer?.TokenToId(eot) is int id) stops.Add(id);
        return (prompt, options with { AddSpecialTokens = false, StopTokenIds = stops.Order().ToArray() });
    }
}
