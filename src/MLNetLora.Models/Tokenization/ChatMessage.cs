using System.Text.Json;

namespace MLNetLora.Models.Tokenization;

/// <summary>
/// One turn of a conversation, as in the <c>messages</c> lists of TRL, axolotl and hosted fine-tuning
/// (<c>{"role": "user", "content": "..."}</c>). Other fields of the message (<c>tool_calls</c>,
/// <c>reasoning_content</c>, ...) travel in <see cref="Fields"/> to the template, which decides what they mean.
/// </summary>
/// <param name="Role">Usually <c>system</c>, <c>user</c>, <c>assistant</c> or <c>tool</c>.</param>
/// <param name="Content">The text of the turn.</param>
/// <param name="Fields">Further fields of the message, as JSON; null when there are none.</param>
public sealed record ChatMessage(string Role, string Content, IReadOnlyDictionary<string, JsonElement>? Fields = null)
{
    /// <summary>The role the loss is computed on when training on conversations.</summary>
    public const string AssistantRole = "assistant";

    /// <summary>Reads a JSON array of message objects (each with string <c>role</c> and <c>content</c>).</summary>
    /// <param name="messages">The array.</param>
    /// <param name="where">Where the array came from, for messages (e.g. "Line 3").</param>
    /// <returns>The messages.</returns>
    /// <exception cref="InvalidDataException">The value is not an array of objects with a string role and a string content.</exception>
    public static IReadOnlyList<ChatMessage> ListFromJson(JsonElement messages, string where)
    {
        if (messages.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{where}: \"messages\" must be a list of {{\"role\": ..., \"content\": ...}} objects; found {messages.ValueKind}.");
        var list = new List<ChatMessage>();
        int i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            i++;
            if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"{where}: message {i} needs a string \"role\".");
            string content = m.TryGetProperty("content", out var c) ? c.ValueKind switch
            {
                JsonValueKind.String => c.GetString()!,
                JsonValueKind.Null => "",
                _ => throw new InvalidDataException($"{where}: message {i} has a {c.ValueKind} \"content\"; only text content is supported (multimodal content lists are not)."),
            } : "";
            var extra = m.EnumerateObject().Where(p => p.Name is not ("role" or "content")).ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
            list.Add(new ChatMessage(role.GetString()!, content, extra.Count == 0 ? null : extra));
        }
        if (list.Count == 0) throw new InvalidDataException($"{where}: \"messages\" is empty.");
        return list;
    }
}
