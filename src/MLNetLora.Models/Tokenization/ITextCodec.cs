namespace MLNetLora.Models.Tokenization;

/// <summary>
/// The model-specific half of a tokenizer: text to ids without any post-processor specials, and ids back
/// to text. <see cref="HfTokenizer"/> adds templates, special-token skipping and batching on top.
/// </summary>
internal interface ITextCodec
{
    /// <summary>The model vocabulary (without added tokens that live outside it).</summary>
    IReadOnlyDictionary<string, int> Vocabulary { get; }

    /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="ids"/>, added tokens included.</summary>
    void Encode(string text, List<int> ids);

    /// <summary>Decodes <paramref name="ids"/>, writing added tokens as their literal text.</summary>
    string Decode(IReadOnlyList<int> ids);
}
