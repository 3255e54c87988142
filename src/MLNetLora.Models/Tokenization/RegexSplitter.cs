using System.Globalization;
using System.Text.RegularExpressions;

namespace MLNetLora.Models.Tokenization;

/// <summary>
/// The pre-tokenization step of a byte-level BPE <c>tokenizer.json</c>: one or more regexes, each applied
/// to the pieces the previous one left, keeping both the matches and the text between them as pieces
/// (HF's <c>Split</c> with behavior <c>Isolated</c>; <c>ByteLevel(use_regex=true)</c> is the same with
/// GPT-2's pattern).
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers' <c>RegexPreTokenizer</c> drops the text between matches, which loses
/// characters whenever a pattern does not cover everything, so the splitting is done here.
/// HF runs these patterns (Oniguruma) on code points while .NET regexes see UTF-16 code units, where a
/// character outside the BMP is two surrogates that match neither <c>\p{L}</c> nor <c>\p{N}</c>. The
/// patterns therefore run on a copy in which each surrogate pair is replaced by two BMP characters of the
/// pair's Unicode category; piece offsets are unchanged and are then applied to the real text.
/// </remarks>
internal sealed class RegexSplitter
{
    /// <summary>The pattern of HF's <c>ByteLevel</c> pre-tokenizer with <c>use_regex=true</c> (GPT-2's).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly Regex[] _stages;

    /// <summary>Creates a splitter that applies <paramref name="patterns"/> in order.</summary>
    /// <exception cref="ArgumentException">A pattern is not a valid .NET regex.</exception>
    public RegexSplitter(IEnumerable<string> patterns) =>
        _stages = patterns.Select(p => new Regex(p, RegexOptions.CultureInvariant | RegexOptions.Compiled)).ToArray();

    /// <summary>Splits <paramref name="text"/> into consecutive pieces that together cover it.</summary>
    public List<string> Split(string text)
    {
        var result = new List<string>();
        if (text.Length == 0) return result;
        string shadow = ShadowAstral(text);
        var pieces = new List<(int Start, int Length)> { (0, text.Length) };
        foreach (var stage in _stages)
        {
            var next = new List<(int, int)>(pieces.Count * 2);
            foreach (var (start, length) in pieces) SplitPiece(stage, shadow.AsSpan(start, length), text, start, next);
            pieces = next;
        }
        foreach (var (start, length) in pieces) result.Add(text.Substring(start, length));
        return result;
    }

    private static void SplitPiece(Regex regex, ReadOnlySpan<char> shadowPiece, string text, int offset, List<(int, int)> output)
    {
        int pos = 0;
        foreach (var m in regex.EnumerateMatches(shadowPiece))
        {
            if (m.Length == 0) continue;
            if (m.Index > pos) Add(output, text, offset, offset + pos, m.Index - pos);
            Add(output, text, offset, offset + m.Index, m.Length);
            pos = m.Index + m.Length;
        }
        if (pos < shadowPiece.Length) Add(output, text, offset, offset + pos, shadowPiece.Length - pos);
    }

    // A shadowed astral character is two code units of one category, so a pattern like \p{N}{1,3} can still
    // end a piece between them; such a cut is undone by joining the two pieces rather than splitting a pair.
    private static void Add(List<(int Start, int Length)> output, string text, int pieceStart, int start, int length)
    {
        if (start > pieceStart && char.IsHighSurrogate(text[start - 1]) && char.IsLowSurrogate(text[start]))
        {
            var last = output[^1];
            output[^1] = (last.Start, last.Length + length);
            return;
        }
        output.Add((start, length));
    }

    private static string ShadowAstral(string text)
    {
        if (!text.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF')) return text;
        char[] chars = text.ToCharArray();
        for (int i = 0; i + 1 < chars.Length; i++)
        {
            if (!char.IsSurrogatePair(chars[i], chars[i + 1])) continue;
            char stand = StandIn(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(chars[i], chars[i + 1])));
            if (stand != '\0') chars[i] = chars[i + 1] = stand;
            i++;
        }
        return new string(chars);
    }

    // One BMP character per category, chosen so that it cannot complete an English contraction
    // ('s, 't, ...) under case-insensitive matching. Categories left out keep their surrogates, which
    // every known pattern treats like the symbols they are.
    private static char StandIn(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter => 'A',
        UnicodeCategory.LowercaseLetter => 'a',
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u4E00',
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '0',
        UnicodeCategory.LetterNumber => '\u2160',
        UnicodeCategory.OtherNumber => '\u00B2',
        _ => '\0',
    };
}
