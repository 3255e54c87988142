using System.Text.Json;

namespace MLNetLora.Models.Tokenization;

/// <summary>Finds and reads the tokenizer files of a checkpoint folder and assembles an <see cref="HfTokenizer"/>.</summary>
internal static class HfTokenizerLoader
{
    public const string JsonFile = "tokenizer.json";
    public const string ModelFile = "tokenizer.model";
    public const string ConfigFile = "tokenizer_config.json";

    /// <summary>See <see cref="HfTokenizer.Load"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="modelDir"/> is null or blank.</exception>
    /// <exception cref="FileNotFoundException">No tokenizer file was found.</exception>
    /// <exception cref="InvalidDataException">A file is malformed.</exception>
    /// <exception cref="NotSupportedException">The tokenizer kind is not supported.</exception>
    public static HfTokenizer Load(string modelDir)
    {
        var tokenizer = LoadCodec(modelDir, out var config);
        string jinjaPath = Path.Combine(modelDir, ChatTemplateFile);
        string? source = File.Exists(jinjaPath) ? File.ReadAllText(jinjaPath) : config.ChatTemplate;
        if (source is null) return tokenizer;
        try
        {
            tokenizer.ChatTemplate = ChatTemplate.Create(source, tokenizer);
        }
        catch (Templating.TemplateException e)
        {
            throw new InvalidDataException($"{(File.Exists(jinjaPath) ? jinjaPath : Path.Combine(modelDir, ConfigFile))}: the chat template cannot be read: {e.Message}", e);
        }
        return tokenizer;
    }

    /// <summary>transformers 4.43+ saves the chat template beside tokenizer_config.json in this file.</summary>
    public const string ChatTemplateFile = "chat_template.jinja";

    private static HfTokenizer LoadCodec(string modelDir, out TokenizerConfig config)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelDir);
        string jsonPath = Path.Combine(modelDir, JsonFile);
        string modelPath = Path.Combine(modelDir, ModelFile);
        string configPath = Path.Combine(modelDir, ConfigFile);
        if (!File.Exists(jsonPath) && !File.Exists(modelPath))
            throw new FileNotFoundException(MissingMessage(modelDir, jsonPath, modelPath), jsonPath);

        config = File.Exists(configPath) ? TokenizerConfig.Read(configPath) : TokenizerConfig.Empty;
        if (!File.Exists(jsonPath))
            return LoadSentencePiece(modelPath, config.AddedTokens, template: null, config);

        using var doc = ParseJson(jsonPath);
        var root = doc.RootElement;
        var added = ReadAddedTokens(root);
        var template = root.TryGetProperty("post_processor", out var pp) ? SpecialTokenTemplate.Parse(pp) : SpecialTokenTemplate.None;
        if (ByteLevelBpeCodec.Handles(root))
        {
            var codec = ByteLevelBpeCodec.Create(root, added);
            return Assemble(codec, added, template, config, fallback: default);
        }
        // Llama 2 style checkpoints ship a Metaspace/byte-fallback tokenizer.json next to tokenizer.model;
        // the SentencePiece model is the faithful source for those.
        if (File.Exists(modelPath))
            return LoadSentencePiece(modelPath, added, template, config);
        throw new NotSupportedException(
            $"{jsonPath} declares a '{Describe(root, "model")}' model with a '{Describe(root, "pre_tokenizer")}' pre-tokenizer. " +
            $"Only byte-level BPE is read from {JsonFile}; for SentencePiece tokenizers place the original {ModelFile} in {modelDir}.");
    }

    private static HfTokenizer LoadSentencePiece(string modelPath, IReadOnlyList<AddedToken> added, SpecialTokenTemplate? template, TokenizerConfig config)
    {
        var codec = SentencePieceCodec.Create(modelPath, added, config.Legacy == true);
        var fallback = new NamedTokenIds(codec.BeginningOfSentenceId, codec.EndOfSentenceId, null, codec.UnknownId);
        // Without a post-processor, transformers' LlamaTokenizer defaults to add_bos_token=True, add_eos_token=False.
        template ??= new SpecialTokenTemplate([codec.BeginningOfSentenceId], []);
        return Assemble(codec, added, template, config, fallback);
    }

    private static HfTokenizer Assemble(ITextCodec codec, IReadOnlyList<AddedToken> added, SpecialTokenTemplate template,
        TokenizerConfig config, NamedTokenIds fallback)
    {
        var named = new NamedTokenIds(
            Resolve(config.BosToken, "bos_token", codec, added) ?? fallback.Bos,
            Resolve(config.EosToken, "eos_token", codec, added) ?? fallback.Eos,
            Resolve(config.PadToken, "pad_token", codec, added) ?? fallback.Pad,
            Resolve(config.UnkToken, "unk_token", codec, added) ?? fallback.Unk);
        template = template.WithOverrides(config.AddBosToken, named.Bos, config.AddEosToken, named.Eos);
        return new HfTokenizer(codec, added, template, named, config.CleanUpTokenizationSpaces);
    }

    private static int? Resolve(string? token, string field, ITextCodec codec, IReadOnlyList<AddedToken> added)
    {
        if (token is null) return null;
        foreach (var t in added)
            if (t.Content == token) return t.Id;
        if (codec.Vocabulary.TryGetValue(token, out int id)) return id;
        throw new InvalidDataException($"{ConfigFile} names {field} '{token}', which is neither an added token nor in the vocabulary.");
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root)
    {
        var list = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var arr) && arr.ValueKind == JsonValueKind.Array)
            foreach (var e in arr.EnumerateArray()) list.Add(AddedToken.FromJson(e));
        return list;
    }

    private static JsonDocument ParseJson(string path)
    {
        try
        {
            var doc = JsonDocument.Parse(File.ReadAllText(path));
            if (doc.RootElement.ValueKind == JsonValueKind.Object) return doc;
            doc.Dispose();
            throw new InvalidDataException($"{path} is not a JSON object.");
        }
        catch (JsonException e)
        {
            long size = new FileInfo(path).Length;
            string what = size == 0 ? "is empty (0 bytes)" : $"is not valid JSON ({size} bytes; {e.Message})";
            throw new InvalidDataException($"{path} {what}: the download or copy was probably cut off. " +
                "Download tokenizer.json again from the model's Hugging Face repository.", e);
        }
    }

    private static string Describe(JsonElement root, string part) =>
        root.TryGetProperty(part, out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("type", out var t)
            ? t.GetString() ?? "?"
            : "none";

    private static string MissingMessage(string dir, string jsonPath, string modelPath)
    {
        string where = Directory.Exists(dir) ? $"No tokenizer in '{dir}'." : $"The folder '{dir}' does not exist.";
        return $"{where} Looked for {jsonPath} (byte-level BPE: Llama 3, Qwen, GPT-2 style) and {modelPath} " +
               "(SentencePiece: Llama 2, Mistral style). Pass the Hugging Face checkpoint folder that holds them, " +
               "or copy the tokenizer files of the base model into it.";
    }
}
