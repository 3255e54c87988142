namespace MLNetLora.Models.Tokenization;

/// <summary>
/// A Hugging Face tokenizer loaded from a checkpoint folder, producing the ids transformers'
/// <c>AutoTokenizer</c> produces: byte-level BPE from <c>tokenizer.json</c> (GPT-2, Llama 3, Qwen, SmolLM) or
/// SentencePiece from <c>tokenizer.model</c> (Llama 2, Mistral), with special tokens, BOS/EOS insertion
/// and decoding options taken from <c>tokenizer.json</c> and <c>tokenizer_config.json</c>.
/// </summary>
/// <remarks>
/// Added tokens (every entry of <c>added_tokens</c>, special or not) that appear literally in the text are
/// encoded as their single id, as HF does. For SentencePiece, text right after such a token gets no
/// dummy-prefix space (HF's <c>legacy=false</c>); that case has no Hugging Face reference in the fixtures.
/// Nothing here changes after <see cref="Load"/>; the only mutable state underneath is
/// Microsoft.ML.Tokenizers' BPE word cache, which that library guards with a lock.
/// </remarks>
public sealed class HfTokenizer
{
    private readonly ITextCodec _codec;
    private readonly SpecialTokenTemplate _template;
    private readonly HashSet<int> _special;
    private readonly Dictionary<string, int> _tokenToId = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _idToToken = [];
    private readonly bool _cleanUpSpaces;

    internal HfTokenizer(ITextCodec codec, IReadOnlyList<AddedToken> added, SpecialTokenTemplate template,
        NamedTokenIds named, bool cleanUpSpaces)
    {
        _codec = codec;
        _template = template;
        _cleanUpSpaces = cleanUpSpaces;
        foreach (var (token, id) in codec.Vocabulary)
        {
            _tokenToId[token] = id;
            _idToToken[id] = token;
        }
        // Added tokens win over the vocabulary, as in HF's added-vocabulary lookup.
        foreach (var t in added)
        {
            _tokenToId[t.Content] = t.Id;
            _idToToken[t.Id] = t.Content;
        }
        (BosId, EosId, PadId, UnkId) = (named.Bos, named.Eos, named.Pad, named.Unk);
        _special = [.. added.Where(t => t.Special).Select(t => t.Id)];
        foreach (int? id in new[] { BosId, EosId, PadId, UnkId })
            if (id is int v) _special.Add(v);
        SpecialTokenIds = _special.Order().ToArray();
        VocabSize = _idToToken.Count == 0 ? 0 : _idToToken.Keys.Max() + 1;
    }

    /// <summary>
    /// Loads the tokenizer of the Hugging Face checkpoint in <paramref name="modelDir"/>. A byte-level BPE
    /// <c>tokenizer.json</c> is used when present; otherwise <c>tokenizer.model</c> (SentencePiece).
    /// <c>tokenizer_config.json</c> is optional and supplies BOS/EOS/PAD/UNK names and the
    /// <c>add_bos_token</c>/<c>add_eos_token</c> flags.
    /// </summary>
    /// <param name="modelDir">The checkpoint folder (the one holding <c>config.json</c>).</param>
    /// <returns>The loaded tokenizer.</returns>
    /// <exception cref="ArgumentException"><paramref name="modelDir"/> is null or blank.</exception>
    /// <exception cref="FileNotFoundException">The folder does not exist or holds neither tokenizer file; the message lists the paths tried.</exception>
    /// <exception cref="InvalidDataException">A tokenizer file is malformed or its parts contradict each other.</exception>
    /// <exception cref="NotSupportedException">The files declare a tokenizer kind or option this class cannot reproduce exactly.</exception>
    public static HfTokenizer Load(string modelDir) => HfTokenizerLoader.Load(modelDir);

    /// <summary>The beginning-of-sequence id named by the files, if any.</summary>
    public int? BosId { get; }

    /// <summary>The end-of-sequence id named by the files, if any.</summary>
    public int? EosId { get; }

    /// <summary>
    /// The padding id named by the files, if any. Many base models have none; falling back to
    /// <see cref="EosId"/> is then the caller's decision.
    /// </summary>
    public int? PadId { get; }

    /// <summary>The unknown-token id named by the files, if any.</summary>
    public int? UnkId { get; }

    /// <summary>One more than the largest id of the vocabulary and added tokens (HF's <c>len(tokenizer)</c> when ids are dense).</summary>
    public int VocabSize { get; }

    /// <summary>The model's chat template, or <see langword="null"/> when its folder has none.</summary>
    public ChatTemplate? ChatTemplate { get; internal set; }

    /// <summary>Ids that <see cref="Decode"/> drops when asked to skip special tokens, in ascending order.</summary>
    public IReadOnlyCollection<int> SpecialTokenIds { get; }

    /// <summary>Encodes <paramref name="text"/> to ids.</summary>
    /// <param name="text">The text; special tokens written in it (e.g. <c>&lt;|eos|&gt;</c>) become their own id.</param>
    /// <param name="addSpecialTokens">Whether to add what the post-processor adds around a sequence (usually BOS).</param>
    /// <returns>The ids.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens) ids.AddRange(_template.Prefix);
        _codec.Encode(text, ids);
        if (addSpecialTokens) ids.AddRange(_template.Suffix);
        return [.. ids];
    }

    /// <summary>
    /// Encodes a pair of texts (sentence-pair classification) with special tokens, as transformers'
    /// <c>tokenizer(text, text_pair)</c>: the post-processor's pair template where tokenizer.json has
    /// one, else the single template around each text (Llama's rebuilt template).
    /// </summary>
    /// <param name="text">The first text.</param>
    /// <param name="textPair">The second text.</param>
    /// <returns>The ids.</returns>
    /// <exception cref="ArgumentNullException">A text is null.</exception>
    public int[] EncodePair(string text, string textPair)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(textPair);
        var (beforeA, betweenAB, afterB) = _template.Pair ?? (_template.Prefix, [.. _template.Suffix, .. _template.Prefix], _template.Suffix);
        var ids = new List<int>(beforeA);
        _codec.Encode(text, ids);
        ids.AddRange(betweenAB);
        _codec.Encode(textPair, ids);
        ids.AddRange(afterB);
        return [.. ids];
    }

    /// <summary>Decodes ids back to text.</summary>
    /// <param name="ids">The ids; ids outside the vocabulary are ignored, as HF does.</param>
    /// <param name="skipSpecialTokens">Whether to drop the ids in <see cref="SpecialTokenIds"/>.</param>
    /// <returns>The text, with <c>clean_up_tokenization_spaces</c> applied when the config asks for it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="ids"/> is null.</exception>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var kept = skipSpecialTokens ? ids.Where(id => !_special.Contains(id)).ToList() : ids.ToList();
        string text = _codec.Decode(kept);
        return _cleanUpSpaces ? CleanUpTokenizationSpaces(text) : text;
    }

    /// <summary>The id of a token string in vocabulary spelling (e.g. <c>"Ġthe"</c> for byte-level BPE).</summary>
    /// <param name="token">The token.</param>
    /// <returns>Its id, or <see langword="null"/> if it is not a token.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="token"/> is null.</exception>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _tokenToId.TryGetValue(token, out int id) ? id : null;
    }

    /// <summary>The token string of an id, in vocabulary spelling.</summary>
    /// <param name="id">The id.</param>
    /// <returns>The token, or <see langword="null"/> if no token has this id.</returns>
    public string? IdToToken(int id) => _idToToken.TryGetValue(id, out var token) ? token : null;

    /// <summary>
    /// Encodes several texts into one rectangular batch with an attention mask.
    /// </summary>
    /// <param name="texts">The texts, one per row.</param>
    /// <param name="maxLength">
    /// The most ids a row keeps. Longer rows keep their first <paramref name="maxLength"/> ids, so the start
    /// (and a BOS) survives while anything at the end, an appended EOS included, is cut. Rows are padded to the
    /// longest row after truncation, not to <paramref name="maxLength"/>.
    /// </param>
    /// <param name="addSpecialTokens">As in <see cref="Encode"/>.</param>
    /// <param name="side"><see cref="PaddingSide.Left"/> for generation, <see cref="PaddingSide.Right"/> for training.</param>
    /// <param name="padId">The id written at padding positions (e.g. <see cref="PadId"/> or <see cref="EosId"/>).</param>
    /// <returns>The padded ids, the mask and each row's real length.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="texts"/> or one of its items is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="texts"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is less than 1.</exception>
    public TokenBatch EncodeBatch(IReadOnlyList<string> texts, int maxLength, bool addSpecialTokens, PaddingSide side, int padId)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var rows = new int[texts.Count][];
        for (int i = 0; i < rows.Length; i++) rows[i] = Encode(texts[i], addSpecialTokens);
        return TokenBatch.Pad(rows, maxLength, side, padId);
    }

    // transformers' clean_up_tokenization: undoes the spaces that word-level tokenizers put before punctuation.
    private static string CleanUpTokenizationSpaces(string text) => text
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",")
        .Replace(" ' ", "'").Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s")
        .Replace(" 've", "'ve").Replace(" 're", "'re");
}
