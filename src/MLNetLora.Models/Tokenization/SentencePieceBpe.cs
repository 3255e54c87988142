using System.Globalization;
using System.Text;

namespace MLNetLora.Models.Tokenization;

/// <summary>
/// SentencePiece's BPE encoding (bpe_model.cc) for models with the identity normalizer (Llama 2,
/// Mistral, TinyLlama, Phi-3): the text becomes one symbol per character (user-defined pieces stay
/// whole), then the adjacent pair whose concatenation is a piece with the highest score is merged,
/// the leftmost one on ties, until no pair is a piece. Symbols that are not pieces fall back to
/// <c>&lt;0xXX&gt;</c> byte pieces (or unk). Microsoft.ML.Tokenizers' LlamaTokenizer merges runs of one
/// character in another order (e.g. <c>=====</c>), which is why this exists.
/// </summary>
internal sealed class SentencePieceBpe
{
    private readonly Dictionary<string, (int Id, float Score)> mergeable = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> userDefined = new(StringComparer.Ordinal);
    private readonly int[] byteIds = new int[256];
    private readonly int unkId;
    private readonly bool byteFallback;
    private readonly int maxUserDefinedLength;

    private SentencePieceBpe(SentencePieceModelFile model)
    {
        Array.Fill(byteIds, -1);
        for (int id = 0; id < model.Pieces.Count; id++)
        {
            var p = model.Pieces[id];
            switch (p.Type)
            {
                case SentencePieceModelFile.PieceType.Normal:
                    mergeable.TryAdd(p.Text, (id, p.Score));
                    break;
                case SentencePieceModelFile.PieceType.UserDefined:
                    mergeable.TryAdd(p.Text, (id, p.Score));
                    userDefined.TryAdd(p.Text, id);
                    maxUserDefinedLength = Math.Max(maxUserDefinedLength, p.Text.Length);
                    break;
                case SentencePieceModelFile.PieceType.Byte when p.Text.Length == 6 && p.Text.StartsWith("<0x", StringComparison.Ordinal):
                    byteIds[int.Parse(p.Text.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)] = id;
                    break;
                case SentencePieceModelFile.PieceType.Unknown:
                    unkId = id;
                    break;
            }
        }
        byteFallback = model.ByteFallback;
        AddDummyPrefix = model.AddDummyPrefix;
        RemoveExtraWhitespaces = model.RemoveExtraWhitespaces;
        EscapeWhitespaces = model.EscapeWhitespaces;
    }

    /// <summary>Whether a "▁" is put before the text (normalizer spec's add_dummy_prefix).</summary>
    public bool AddDummyPrefix { get; }

    private bool RemoveExtraWhitespaces { get; }

    private bool EscapeWhitespaces { get; }

    /// <summary>The encoder for a model this class reproduces exactly (BPE, identity normalizer), or null for another.</summary>
    public static SentencePieceBpe? TryCreate(SentencePieceModelFile model) =>
        model.ModelType == 2 && !model.HasCharsMap && model.NormalizerName is "" or "identity" ? new SentencePieceBpe(model) : null;

    /// <summary>Appends the ids of one stretch of text (no added tokens in it).</summary>
    /// <param name="text">The text.</param>
    /// <param name="dummyPrefix">Whether to put the dummy-prefix "▁" before it (when the model asks for one).</param>
    /// <param name="ids">Receives the ids.</param>
    public void Encode(string text, bool dummyPrefix, List<int> ids)
    {
        string normalized = Normalize(text, dummyPrefix && AddDummyPrefix);
        if (normalized.Length == 0) return;
        var (symbols, frozen) = InitialSymbols(normalized);
        Merge(symbols, frozen);
        foreach (var s in symbols)
        {
            if (s is null) continue;
            if (mergeable.TryGetValue(s, out var piece)) ids.Add(piece.Id);
            else if (byteFallback && Encoding.UTF8.GetBytes(s) is var bytes && bytes.All(b => byteIds[b] >= 0)) ids.AddRange(bytes.Select(b => byteIds[b]));
            else ids.Add(unkId);
        }
    }

    private string Normalize(string text, bool prefix)
    {
        if (RemoveExtraWhitespaces)
        {
            var sb = new StringBuilder(text.Length);
            foreach (char c in text.Trim(' '))
                if (c != ' ' || sb.Length == 0 || sb[^1] != ' ') sb.Append(c);
            text = sb.ToString();
        }
        if (text.Length == 0) return "";
        if (prefix) text = " " + text;
        return EscapeWhitespaces ? text.Replace(' ', '\u2581') : text;
    }

    // One symbol per character (a surrogate pair is one character); user-defined pieces are matched
    // longest-first and frozen (never merged with a neighbour), as SentencePiece's prefix matcher does.
    private (List<string?> Symbols, List<bool> Frozen) InitialSymbols(string text)
    {
        var symbols = new List<string?>(text.Length);
        var frozen = new List<bool>(text.Length);
        for (int i = 0; i < text.Length;)
        {
            int len = 0;
            for (int l = Math.Min(maxUserDefinedLength, text.Length - i); l > 0 && len == 0; l--)
                if (userDefined.ContainsKey(text.Substring(i, l))) len = l;
            frozen.Add(len > 0);
            if (len == 0) len = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            symbols.Add(text.Substring(i, len));
            i += len;
        }
        return (symbols, frozen);
    }

    // A heap of candidate pairs ordered by score, then by left position; an entry is stale when either
    // side has changed since it was pushed (its text no longer matches).
    private void Merge(List<string?> symbols, List<bool> frozen)
    {
        int n = symbols.Count;
        var next = new int[n];
        var prev = new int[n];
        for (int i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
        var heap = new PriorityQueue<(int Left, int Right, string Merged), (float, int)>(Comparer<(float Score, int Left)>.Create((a, b) =>
            a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Left.CompareTo(b.Left)));
        void Push(int left, int right)
        {
            if (left < 0 || right < 0 || frozen[left] || frozen[right]) return;
            string merged = symbols[left] + symbols[right];
            if (mergeable.TryGetValue(merged, out var piece)) heap.Enqueue((left, right, merged), (piece.Score, left));
        }
        for (int i = 0; i + 1 < n; i++) Push(i, i + 1);
        while (heap.TryDequeue(out var top, out _))
        {
            var (left, right, merged) = top;
            if (symbols[left] is null || symbols[right] is null || next[left] != right || symbols[left] + symbols[right] != merged) continue;
            symbols[left] = merged;
            symbols[right] = null;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            Push(prev[left], left);
            Push(left, next[left]);
        }
        int kept = 0;
        for (int i = 0; i < n; i++) if (symbols[i] is not null) symbols[kept++] = symbols[i];
        symbols.RemoveRange(kept, n - kept);
    }
}
