using System.Text.Json;
using MLNetLora.Models.Tokenization;

namespace MLNetLora.Cli.Commands;

/// <summary>A token id with its string, e.g. the BOS token.</summary>
/// <param name="Id">The id.</param>
/// <param name="Token">Its string in vocabulary spelling, or null when no token has this id.</param>
public sealed record TokenSummary(int Id, string? Token);

/// <summary>What <c>inspect</c> reports about a model folder's tokenizer.</summary>
/// <param name="Kind">The algorithm and the file it comes from, e.g. <c>byte-level BPE (tokenizer.json)</c>.</param>
/// <param name="VocabSize">One more than the largest token id (0 when the tokenizer could not be read).</param>
/// <param name="Bos">Beginning-of-sequence token, if any.</param>
/// <param name="Eos">End-of-sequence token, if any.</param>
/// <param name="Pad">Padding token, if any.</param>
/// <param name="Unk">Unknown token, if any.</param>
/// <param name="SpecialTokens">Every special token, by id.</param>
/// <param name="Error">Why the tokenizer could not be read, or null when it was.</param>
public sealed record TokenizerSummary(
    string Kind, int VocabSize, TokenSummary? Bos, TokenSummary? Eos, TokenSummary? Pad, TokenSummary? Unk,
    IReadOnlyList<TokenSummary> SpecialTokens, string? Error)
{
    private const string JsonFile = "tokenizer.json";
    private const string ModelFile = "tokenizer.model";

    /// <summary>Reads the tokenizer of a model folder; null when the folder has no tokenizer files.</summary>
    /// <remarks>A tokenizer that fails to load is reported through <see cref="Error"/> rather than thrown, so the rest of the model can still be inspected.</remarks>
    public static TokenizerSummary? Read(string modelDir)
    {
        bool hasJson = File.Exists(Path.Combine(modelDir, JsonFile));
        bool hasModel = File.Exists(Path.Combine(modelDir, ModelFile));
        if (!hasJson && !hasModel) return null;
        string kind = DescribeKind(modelDir, hasJson, hasModel);
        HfTokenizer tokenizer;
        try
        {
            tokenizer = HfTokenizer.Load(modelDir);
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException or JsonException)
        {
            return new TokenizerSummary(kind, 0, null, null, null, null, [], e.Message);
        }
        TokenSummary? Named(int? id) => id is int v ? new TokenSummary(v, tokenizer.IdToToken(v)) : null;
        return new TokenizerSummary(
            kind, tokenizer.VocabSize,
            Named(tokenizer.BosId), Named(tokenizer.EosId), Named(tokenizer.PadId), Named(tokenizer.UnkId),
            tokenizer.SpecialTokenIds.Select(id => new TokenSummary(id, tokenizer.IdToToken(id))).ToArray(),
            null);
    }

    // HfTokenizer does not expose which codec it chose, so this repeats its rule: a byte-level BPE
    // tokenizer.json wins, otherwise tokenizer.model (SentencePiece) is used.
    private static string DescribeKind(string modelDir, bool hasJson, bool hasModel)
    {
        string? jsonModelType = null;
        if (hasJson)
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(modelDir, JsonFile)));
            var root = doc.RootElement;
            if (root.TryGetProperty("model", out var model) && model.TryGetProperty("type", out var type))
                jsonModelType = type.GetString();
            bool byteLevel = root.TryGetProperty("pre_tokenizer", out var pre) && pre.GetRawText().Contains("\"ByteLevel\"", StringComparison.Ordinal);
            if (jsonModelType == "BPE" && byteLevel) return $"byte-level BPE ({JsonFile})";
        }
        if (hasModel) return $"SentencePiece ({ModelFile})";
        return $"{jsonModelType ?? "unknown"} ({JsonFile})";
    }
}
