using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace MLNetLora.Models.Tokenization;

/// <summary>
/// A byte-level BPE <c>tokenizer.json</c> (GPT-2, Llama 3, Qwen, SmolLM style): added tokens are cut out
/// first, each stretch of text between them is normalized, split by the declared pre-tokenizer regexes and
/// merged by Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>.
/// </summary>
internal sealed class ByteLevelBpeCodec : ITextCodec
{
    private readonly BpeTokenizer _bpe;
    private readonly Dictionary<string, int> _vocab;
    private readonly AddedTokenSplitter _added;
    private readonly Dictionary<int, string> _addedById = [];
    private readonly RegexSplitter _splitter;
    private readonly Func<string, string>? _normalize;
    private readonly bool _addPrefixSpace;
    private readonly bool _ignoreMerges;

    private ByteLevelBpeCodec(BpeTokenizer bpe, Dictionary<string, int> vocab, IReadOnlyList<AddedToken> added,
        PreTokenizerSpec pre, Func<string, string>? normalize, bool ignoreMerges)
    {
        _bpe = bpe;
        _vocab = vocab;
        _added = new AddedTokenSplitter(added);
        foreach (var t in added) _addedById[t.Id] = t.Content;
        _splitter = new RegexSplitter(pre.Patterns);
        _addPrefixSpace = pre.AddPrefixSpace;
        _normalize = normalize;
        _ignoreMerges = ignoreMerges;
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    /// <summary>Whether <paramref name="root"/> is a BPE model with a byte-level pre-tokenizer.</summary>
    public static bool Handles(JsonElement root) =>
        root.TryGetProperty("model", out var model) && model.TryGetProperty("type", out var type) && type.GetString() == "BPE"
        && root.TryGetProperty("pre_tokenizer", out var pre) && PreTokenizerSpec.MentionsByteLevel(pre);

    /// <summary>Builds the codec from a parsed <c>tokenizer.json</c>.</summary>
    /// <exception cref="InvalidDataException">The vocabulary or merges are missing or inconsistent.</exception>
    /// <exception cref="NotSupportedException">The file declares a normalizer or pre-tokenizer this class cannot reproduce.</exception>
    public static ByteLevelBpeCodec Create(JsonElement root, IReadOnlyList<AddedToken> added)
    {
        var model = root.GetProperty("model");
        if (!model.TryGetProperty("vocab", out var vocabJson) || vocabJson.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException("tokenizer.json: model.vocab is missing or not an object.");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in vocabJson.EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();

        var options = new BpeOptions(vocab)
        {
            Merges = ReadMerges(model),
            ByteLevel = true,
            UnknownToken = OptionalString(model, "unk_token"),
            ContinuingSubwordPrefix = OptionalString(model, "continuing_subword_prefix"),
            EndOfWordSuffix = OptionalString(model, "end_of_word_suffix"),
            FuseUnknownTokens = model.TryGetProperty("fuse_unk", out var f) && f.ValueKind == JsonValueKind.True,
        };
        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(options);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException("tokenizer.json: the BPE vocabulary and merges do not fit together: " + e.Message, e);
        }

        var pre = PreTokenizerSpec.Parse(root.GetProperty("pre_tokenizer"));
        var normalize = root.TryGetProperty("normalizer", out var n) ? TextNormalizer.Parse(n) : null;
        bool ignoreMerges = model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True;
        return new ByteLevelBpeCodec(bpe, vocab, added, pre, normalize, ignoreMerges);
    }

    /// <inheritdoc/>
    public void Encode(string text, List<int> ids) => _added.Split(text, s => EncodeText(s, ids), ids.Add);

    /// <inheritdoc/>
    public string Decode(IReadOnlyList<int> ids)
    {
        var sb = new StringBuilder();
        var run = new List<int>();
        foreach (int id in ids)
        {
            if (!_addedById.TryGetValue(id, out var content))
            {
                run.Add(id);
                continue;
            }
            Flush(sb, run);
            sb.Append(content);
        }
        Flush(sb, run);
        return sb.ToString();
    }

    // Added tokens are written by hand rather than registered as ML special tokens: ML pushes special-token
    // text through the byte map on decode, which garbles any token containing a space or non-Latin text.
    private void Flush(StringBuilder sb, List<int> run)
    {
        if (run.Count == 0) return;
        sb.Append(_bpe.Decode(run, considerSpecialTokens: false));
        run.Clear();
    }

    private void EncodeText(string text, List<int> ids)
    {
        string s = _normalize is null ? text : _normalize(text);
        if (s.Length == 0) return;
        if (_addPrefixSpace && !s.StartsWith(' ')) s = " " + s;
        foreach (string piece in _splitter.Split(s))
        {
            // ignore_merges (Llama 3): a pre-token that is itself in the vocabulary is taken whole, because
            // replaying the merges does not always reach the token the original tiktoken vocabulary used.
            if (_ignoreMerges && _vocab.TryGetValue(ByteLevelAlphabet.Encode(piece), out int whole))
                ids.Add(whole);
            else
                ids.AddRange(_bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
        }
    }

    // Older tokenizers versions write merges as "a b"; newer ones as ["a", "b"] so tokens may hold spaces.
    private static List<string> ReadMerges(JsonElement model)
    {
        var merges = new List<string>();
        if (!model.TryGetProperty("merges", out var arr) || arr.ValueKind != JsonValueKind.Array) return merges;
        foreach (var m in arr.EnumerateArray())
        {
            if (m.ValueKind == JsonValueKind.String)
            {
                merges.Add(m.GetString()!);
                continue;
            }
            if (m.ValueKind != JsonValueKind.Array || m.GetArrayLength() != 2)
                throw new InvalidDataException("tokenizer.json: a merge is neither \"a b\" nor [\"a\", \"b\"]: " + m.GetRawText());
            string a = m[0].GetString()!, b = m[1].GetString()!;
            if (a.Contains(' ') || b.Contains(' '))
                throw new InvalidDataException($"tokenizer.json: the merge [\"{a}\", \"{b}\"] contains a space, which Microsoft.ML.Tokenizers cannot represent.");
            merges.Add(a + " " + b);
        }
        return merges;
    }

    private static string? OptionalString(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
