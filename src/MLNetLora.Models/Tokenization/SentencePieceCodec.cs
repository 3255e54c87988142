using Microsoft.ML.Tokenizers;

namespace MLNetLora.Models.Tokenization;

/// <summary>
/// A SentencePiece BPE <c>tokenizer.model</c> (Llama 2, Mistral, TinyLlama style) through Microsoft.ML.Tokenizers'
/// <see cref="LlamaTokenizer"/>, which applies the model's own normalizer spec (dummy prefix, whitespace
/// collapsing) and byte fallback.
/// </summary>
/// <remarks>
/// Added tokens are handed to <see cref="LlamaTokenizer"/>, which cuts them out of the text itself and
/// does not add a dummy-prefix space to the text that follows one (HF's non-legacy behaviour).
/// </remarks>
internal sealed class SentencePieceCodec : ITextCodec
{
    private readonly LlamaTokenizer _sp;
    private readonly SentencePieceBpe? _bpe;
    private readonly AddedTokenSplitter? _splitter;
    private readonly bool _legacy;

    private SentencePieceCodec(LlamaTokenizer sp, SentencePieceBpe? bpe, AddedTokenSplitter? splitter, bool legacy)
    {
        _sp = sp;
        _bpe = bpe;
        _splitter = splitter;
        _legacy = legacy;
    }

    /// <summary>Whether encoding goes through the exact SentencePiece BPE port (identity-normalizer BPE models) rather than LlamaTokenizer.</summary>
    public bool ExactBpe => _bpe is not null;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, int> Vocabulary => _sp.Vocabulary;

    /// <summary>The model's own &lt;s&gt; id.</summary>
    public int BeginningOfSentenceId => _sp.BeginningOfSentenceId;

    /// <summary>The model's own &lt;/s&gt; id.</summary>
    public int EndOfSentenceId => _sp.EndOfSentenceId;

    /// <summary>The model's own &lt;unk&gt; id.</summary>
    public int UnknownId => _sp.UnknownId;

    /// <summary>Loads <paramref name="modelPath"/>; <paramref name="added"/> may repeat tokens the model already has.</summary>
    /// <exception cref="InvalidDataException">The file is not a SentencePiece BPE model that ML.Tokenizers can read.</exception>
    /// <param name="modelPath">The tokenizer.model file.</param>
    /// <param name="added">Added tokens (cut out of the text with their lstrip/rstrip/single_word rules).</param>
    /// <param name="legacy">tokenizer_config.json's <c>legacy</c>: true puts the dummy prefix before the text after every added token too, as transformers' legacy Llama tokenizer does.</param>
    public static SentencePieceCodec Create(string modelPath, IReadOnlyList<AddedToken> added, bool legacy = false)
    {
        // transformers registers <unk>, <s> and </s> as special added tokens, so they are cut out of text
        // even when no tokenizer.json lists them; their spelling is only known once the model is read.
        var bare = Read(modelPath, null);
        var specials = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            [bare.UnknownToken] = bare.UnknownId,
            [bare.BeginningOfSentenceToken] = bare.BeginningOfSentenceId,
            [bare.EndOfSentenceToken] = bare.EndOfSentenceId,
        };
        foreach (var t in added) specials[t.Content] = t.Id;
        var bpe = SentencePieceBpe.TryCreate(SentencePieceModelFile.Read(File.ReadAllBytes(modelPath)));
        // The model's own specials are cut out like added tokens without stripping; added tokens keep their rules.
        var splitting = specials.Where(kv => added.All(t => t.Content != kv.Key))
            .Select(kv => new AddedToken(kv.Value, kv.Key, Special: true, LStrip: false, RStrip: false, SingleWord: false)).Concat(added).ToList();
        return new SentencePieceCodec(Read(modelPath, specials), bpe, bpe is null ? null : new AddedTokenSplitter(splitting), legacy);
    }

    private static LlamaTokenizer Read(string modelPath, Dictionary<string, int>? specials)
    {
        using var stream = File.OpenRead(modelPath);
        try
        {
            // BOS/EOS are added by HfTokenizer from the post-processor and config, not by the model.
            return LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false, specialTokens: specials);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or Google.Protobuf.InvalidProtocolBufferException)
        {
            throw new InvalidDataException($"{modelPath} could not be read as a SentencePiece BPE model: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public void Encode(string text, List<int> ids)
    {
        if (_bpe is null)
        {
            ids.AddRange(_sp.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false, considerPreTokenization: true, considerNormalization: true));
            return;
        }
        // The dummy prefix goes before the start of the text only (transformers' non-legacy Llama
        // tokenizer), or before every stretch after an added token too (legacy).
        bool first = true;
        _splitter!.Split(text, segment =>
        {
            _bpe.Encode(segment, first || _legacy, ids);
            first = false;
        }, id =>
        {
            ids.Add(id);
            first = false;
        });
    }

    /// <inheritdoc/>
    public string Decode(IReadOnlyList<int> ids) => _sp.Decode(ids, considerSpecialTokens: true);
}
