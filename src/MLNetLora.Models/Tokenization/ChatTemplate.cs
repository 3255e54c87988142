using System.Globalization;
using MLNetLora.Models.Templating;

namespace MLNetLora.Models.Tokenization;

/// <summary>A conversation rendered for training: the text and the character spans the loss is computed on.</summary>
/// <param name="Text">The rendered conversation (<c>apply_chat_template(messages, tokenize=False)</c>).</param>
/// <param name="AssistantSpans">[start, end) character ranges of what the assistant says, end-of-turn token included.</param>
public sealed record RenderedConversation(string Text, IReadOnlyList<(int Start, int End)> AssistantSpans);

/// <summary>
/// A model's chat template (<c>chat_template</c> in tokenizer_config.json or <c>chat_template.jinja</c>),
/// rendered as transformers' <c>apply_chat_template</c> does: the context holds <c>messages</c>,
/// <c>add_generation_prompt</c>, the special-token strings (<c>bos_token</c>, <c>eos_token</c>, ...) and
/// <c>strftime_now</c>.
/// </summary>
public sealed class ChatTemplate
{
    private readonly JinjaTemplate _template;
    private readonly Dictionary<string, object?> _tokens;
    private readonly string[] _specialTexts;

    /// <summary>Creates a template over <paramref name="source"/>.</summary>
    /// <param name="source">The Jinja source.</param>
    /// <param name="specialTokens">Named special-token strings put in the context (<c>bos_token</c> → "&lt;s&gt;", ...).</param>
    /// <param name="endOfTurnTexts">Special-token texts; the one that directly follows an assistant turn belongs to the turn's loss.</param>
    /// <exception cref="TemplateException">The template does not parse.</exception>
    public ChatTemplate(string source, IReadOnlyDictionary<string, string?> specialTokens, IEnumerable<string> endOfTurnTexts)
    {
        ArgumentNullException.ThrowIfNull(specialTokens);
        ArgumentNullException.ThrowIfNull(endOfTurnTexts);
        _template = JinjaTemplate.Parse(source);
        _tokens = specialTokens.ToDictionary(kv => kv.Key, kv => (object?)(kv.Value ?? ""), StringComparer.Ordinal);
        _specialTexts = endOfTurnTexts.Where(t => t.Length > 0).Distinct().OrderByDescending(t => t.Length).ToArray();
    }

    /// <summary>A template over <paramref name="source"/> with <paramref name="tokenizer"/>'s special tokens.</summary>
    /// <param name="source">The Jinja source (e.g. a model's chat_template.jinja, or one of your own).</param>
    /// <param name="tokenizer">The tokenizer whose BOS, EOS, PAD and UNK strings the template sees.</param>
    /// <returns>The template.</returns>
    /// <exception cref="TemplateException">The template does not parse.</exception>
    public static ChatTemplate Create(string source, HfTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        string? Text(int? id) => id is int v ? tokenizer.IdToToken(v) : null;
        var named = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["bos_token"] = Text(tokenizer.BosId),
            ["eos_token"] = Text(tokenizer.EosId),
            ["pad_token"] = Text(tokenizer.PadId),
            ["unk_token"] = Text(tokenizer.UnkId),
        };
        return new ChatTemplate(source, named, tokenizer.SpecialTokenIds.Select(tokenizer.IdToToken).OfType<string>());
    }

    /// <summary>The template text.</summary>
    public string Source => _template.Source;

    /// <summary>The clock behind <c>strftime_now</c> (Llama 3.x puts today's date in the system header); replaceable for tests.</summary>
    public Func<DateTime> Clock { get; init; } = () => DateTime.Now;

    /// <summary>Renders <paramref name="messages"/>.</summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="addGenerationPrompt">Whether to end with the header that opens an assistant turn (for generation).</param>
    /// <param name="variables">Further template variables (e.g. <c>enable_thinking</c>, <c>date_string</c>).</param>
    /// <returns>The text.</returns>
    /// <exception cref="TemplateRaisedException">The template refused the conversation (e.g. roles that do not alternate).</exception>
    /// <exception cref="TemplateException">Rendering failed.</exception>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? variables = null) =>
        _template.Render(Context(messages, addGenerationPrompt, variables));

    /// <summary>
    /// Renders a conversation for training and finds what the assistant says. A template with
    /// <c>{% generation %}</c> blocks marks it itself (transformers' <c>return_assistant_tokens_mask</c>).
    /// Otherwise each assistant turn runs from the end of the generation prompt that the conversation up
    /// to it renders to (which must be a prefix of the whole text) through its content and the special token
    /// right after it (<c>&lt;|im_end|&gt;</c>, <c>&lt;|eot_id|&gt;</c>, <c>&lt;/s&gt;</c>), so the model learns to end its turn.
    /// </summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="variables">Further template variables.</param>
    /// <returns>The text and the assistant spans.</returns>
    /// <exception cref="TemplateRaisedException">The template refused the conversation.</exception>
    /// <exception cref="TemplateException">Rendering failed, or an assistant turn cannot be located; the message says which and why.</exception>
    public RenderedConversation RenderForTraining(IReadOnlyList<ChatMessage> messages, IReadOnlyDictionary<string, object?>? variables = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        string full = _template.Render(Context(messages, false, variables), out var marked);
        if (_template.HasGenerationBlocks) return new RenderedConversation(full, marked);
        var spans = new List<(int, int)>();
        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i].Role != ChatMessage.AssistantRole) continue;
            if (i == 0) throw new TemplateException("Message 1 is an assistant turn; a conversation to train on starts with a system or user message.");
            string prompt = Render(messages.Take(i).ToList(), true, variables);
            if (!full.StartsWith(prompt, StringComparison.Ordinal))
                throw new TemplateException($"Message {i + 1} (assistant): the chat template renders the turns before it differently once the conversation goes on, " +
                    "so the start of the assistant text cannot be found. Give the template {% generation %} blocks around assistant text.");
            int end = FindTurnEnd(full, prompt.Length, messages[i].Content, i);
            spans.Add((prompt.Length, end));
        }
        return new RenderedConversation(full, spans);
    }

    /// <summary>
    /// The special token the template closes an assistant turn with (<c>&lt;|im_end|&gt;</c>, <c>&lt;|eot_id|&gt;</c>,
    /// <c>&lt;|end|&gt;</c>, <c>&lt;/s&gt;</c>), found by rendering a one-exchange conversation; generation stops on it.
    /// </summary>
    /// <returns>Its text, or <see langword="null"/> when the turn ends with no special token.</returns>
    public string? EndOfTurnText()
    {
        const string reply = "Hello there.";
        try
        {
            var r = RenderForTraining([new ChatMessage("user", "Hi"), new ChatMessage(ChatMessage.AssistantRole, reply)]);
            if (r.AssistantSpans.Count == 0) return null;
            var (_, end) = r.AssistantSpans[0];
            int contentEnd = r.Text.LastIndexOf(reply, end, StringComparison.Ordinal) + reply.Length;
            return end > contentEnd ? r.Text[contentEnd..end] : null;
        }
        catch (TemplateException)
        {
            return null;
        }
    }

    private int FindTurnEnd(string full, int start, string content, int index)
    {
        string needle = content.Trim();
        int at = needle.Length == 0 ? start : full.IndexOf(needle, start, StringComparison.Ordinal);
        // Reasoning templates (Qwen3) drop the <think> part of earlier assistant turns: the answer after it stays.
        if (at < 0 && needle.Contains("</think>", StringComparison.Ordinal))
        {
            needle = needle[(needle.LastIndexOf("</think>", StringComparison.Ordinal) + "</think>".Length)..].Trim();
            at = needle.Length == 0 ? start : full.IndexOf(needle, start, StringComparison.Ordinal);
        }
        if (at < 0)
            throw new TemplateException($"Message {index + 1} (assistant): its text does not appear in the rendered conversation, so the chat template rewrites it; " +
                "give the template {% generation %} blocks around assistant text.");
        int end = at + needle.Length;
        string? eot = _specialTexts.FirstOrDefault(t => string.CompareOrdinal(full, end, t, 0, t.Length) == 0);
        return eot is null ? end : end + eot.Length;
    }

    private Dictionary<string, object?> Context(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, IReadOnlyDictionary<string, object?>? variables)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var context = new Dictionary<string, object?>(_tokens, StringComparer.Ordinal)
        {
            ["messages"] = messages.Select(ToValue).ToList(),
            ["add_generation_prompt"] = addGenerationPrompt,
            ["strftime_now"] = (Func<string, string>)(format => Strftime(Clock(), format)),
        };
        if (variables is not null) foreach (var (k, v) in variables) context[k] = v;
        return context;
    }

    private static object? ToValue(ChatMessage m)
    {
        var d = new Dictionary<string, object?>(StringComparer.Ordinal) { ["role"] = m.Role, ["content"] = m.Content };
        if (m.Fields is not null) foreach (var (k, v) in m.Fields) d[k] = JinjaTemplate.FromJson(v);
        return d;
    }

    /// <summary>Python's <c>strftime</c> for the directives chat templates use.</summary>
    internal static string Strftime(DateTime t, string format)
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 == format.Length) { sb.Append(format[i]); continue; }
            char d = format[++i];
            sb.Append(d switch
            {
                'd' => t.ToString("dd", CultureInfo.InvariantCulture),
                'm' => t.ToString("MM", CultureInfo.InvariantCulture),
                'Y' => t.ToString("yyyy", CultureInfo.InvariantCulture),
                'y' => t.ToString("yy", CultureInfo.InvariantCulture),
                'b' => t.ToString("MMM", CultureInfo.InvariantCulture),
                'B' => t.ToString("MMMM", CultureInfo.InvariantCulture),
                'a' => t.ToString("ddd", CultureInfo.InvariantCulture),
                'A' => t.ToString("dddd", CultureInfo.InvariantCulture),
                'H' => t.ToString("HH", CultureInfo.InvariantCulture),
                'M' => t.ToString("mm", CultureInfo.InvariantCulture),
                'S' => t.ToString("ss", CultureInfo.InvariantCulture),
                'j' => t.DayOfYear.ToString("000", CultureInfo.InvariantCulture),
                '%' => "%",
                _ => "%" + d,
            });
        }
        return sb.ToString();
    }
}
