using System.Text.Json;

namespace MLNetLora.Models.Tokenization;

/// <summary>
/// A token that Hugging Face matches in raw text before the model sees it (an entry of
/// <c>added_tokens</c> in <c>tokenizer.json</c> or <c>added_tokens_decoder</c> in <c>tokenizer_config.json</c>).
/// </summary>
/// <param name="Id">The token id.</param>
/// <param name="Content">The literal text that stands for the token.</param>
/// <param name="Special">Whether decoding with <c>skip_special_tokens</c> drops it.</param>
/// <param name="LStrip">Whether the token swallows whitespace on its left.</param>
/// <param name="RStrip">Whether the token swallows whitespace on its right.</param>
/// <param name="SingleWord">Whether the token only matches when not inside a word.</param>
internal sealed record AddedToken(int Id, string Content, bool Special, bool LStrip, bool RStrip, bool SingleWord)
{
    /// <summary>Reads one added-token object; <paramref name="id"/> overrides a missing <c>id</c> field.</summary>
    /// <exception cref="InvalidDataException">The object has no <c>content</c> or no id.</exception>
    public static AddedToken FromJson(JsonElement e, int? id = null)
    {
        string content = e.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String
            ? c.GetString()!
            : throw new InvalidDataException("An added token has no \"content\" string: " + e.GetRawText());
        int tokenId = e.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.Number
            ? i.GetInt32()
            : id ?? throw new InvalidDataException($"The added token '{content}' has no id.");
        return new AddedToken(tokenId, content, Flag(e, "special"), Flag(e, "lstrip"), Flag(e, "rstrip"), Flag(e, "single_word"));
    }

    private static bool Flag(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
}
