using System.Globalization;
using System.Text.Json;

namespace MLNetLora.Models.Tokenization;

/// <summary>
/// What <c>tokenizer_config.json</c> says about special tokens and decoding. Every field is optional: a
/// field the file leaves out stays <see langword="null"/> so the caller can tell "absent" from "false".
/// </summary>
internal sealed class TokenizerConfig
{
    /// <summary>A config with nothing in it, for folders that ship no <c>tokenizer_config.json</c>.</summary>
    public static TokenizerConfig Empty { get; } = new();

    public string? BosToken { get; private init; }
    public string? EosToken { get; private init; }
    public string? PadToken { get; private init; }
    public string? UnkToken { get; private init; }
    public bool? AddBosToken { get; private init; }
    public bool? AddEosToken { get; private init; }
    public bool CleanUpTokenizationSpaces { get; private init; }

    /// <summary><c>legacy</c> (SentencePiece Llama tokenizers): true puts the dummy prefix after every added token too.</summary>
    public bool? Legacy { get; private init; }

    /// <summary><c>chat_template</c>: one string, or the <c>default</c> entry of a list of named templates.</summary>
    public string? ChatTemplate { get; private init; }

    /// <summary>Entries of <c>added_tokens_decoder</c>, keyed by id in the file.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; private init; } = [];

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a JSON object or a field has the wrong shape.</exception>
    public static TokenizerConfig Read(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path} is not a JSON object.");
            return new TokenizerConfig
            {
                BosToken = TokenText(root, "bos_token"),
                EosToken = TokenText(root, "eos_token"),
                PadToken = TokenText(root, "pad_token"),
                UnkToken = TokenText(root, "unk_token"),
                AddBosToken = OptionalBool(root, "add_bos_token"),
                AddEosToken = OptionalBool(root, "add_eos_token"),
                CleanUpTokenizationSpaces = OptionalBool(root, "clean_up_tokenization_spaces") ?? false,
                Legacy = OptionalBool(root, "legacy"),
                AddedTokens = ReadAddedTokensDecoder(root),
                ChatTemplate = ReadChatTemplate(root),
            };
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {e.Message}", e);
        }
    }

    // transformers writes special tokens either as a bare string or as a serialized AddedToken object.
    private static string? TokenText(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Null => null,
            JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
            _ => throw new InvalidDataException($"tokenizer_config.json: \"{name}\" must be a string, null or an object with \"content\"; found {v.GetRawText()}."),
        };
    }

    // transformers writes either one template or [{"name": "default", "template": ...}, {"name": "tool_use", ...}].
    private static string? ReadChatTemplate(JsonElement root)
    {
        if (!root.TryGetProperty("chat_template", out var v)) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        if (v.ValueKind != JsonValueKind.Array) return null;
        foreach (var entry in v.EnumerateArray())
            if (entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("name", out var n) && n.GetString() == "default"
                && entry.TryGetProperty("template", out var t) && t.ValueKind == JsonValueKind.String)
                return t.GetString();
        throw new InvalidDataException("tokenizer_config.json: \"chat_template\" is a list without a \"default\" entry.");
    }

    private static bool? OptionalBool(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean()
            : null;

    private static List<AddedToken> ReadAddedTokensDecoder(JsonElement root)
    {
        var list = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens_decoder", out var dec) || dec.ValueKind != JsonValueKind.Object)
            return list;
        foreach (var p in dec.EnumerateObject())
        {
            if (!int.TryParse(p.Name, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id))
                throw new InvalidDataException($"tokenizer_config.json: added_tokens_decoder key '{p.Name}' is not an integer id.");
            list.Add(AddedToken.FromJson(p.Value, id));
        }
        return list;
    }
}
