using System.Text;
using System.Text.RegularExpressions;

namespace MLNetLora.Models.Tokenization;

/// <summary>
/// Cuts raw text at every occurrence of an added token, the way Hugging Face does before normalization
/// and pre-tokenization: the token becomes its own id and the text around it is encoded separately.
/// </summary>
/// <remarks>
/// Matching is leftmost, and at one position the longest content wins (alternatives are ordered by
/// length), which is what HF's leftmost-longest automaton does. <c>lstrip</c>/<c>rstrip</c> swallow the
/// neighbouring whitespace and <c>single_word</c> refuses matches inside a word, as in HF. All tokens are
/// matched on the raw text: HF matches <c>normalized=true</c> tokens on normalized text instead, which
/// only differs when the normalizer changes the token's own characters.
/// </remarks>
internal sealed class AddedTokenSplitter
{
    private const string ContentGroup = "c";
    private readonly Regex? _regex;
    private readonly Dictionary<string, int> _idByContent = new(StringComparer.Ordinal);

    /// <summary>Builds the matcher; with no tokens every text is one plain segment.</summary>
    public AddedTokenSplitter(IEnumerable<AddedToken> tokens)
    {
        var ordered = new List<AddedToken>();
        foreach (var t in tokens)
        {
            if (t.Content.Length == 0 || !_idByContent.TryAdd(t.Content, t.Id)) continue;
            ordered.Add(t);
        }
        if (ordered.Count == 0) return;
        ordered.Sort((a, b) => b.Content.Length != a.Content.Length ? b.Content.Length.CompareTo(a.Content.Length) : a.Id.CompareTo(b.Id));

        var pattern = new StringBuilder();
        foreach (var t in ordered)
        {
            if (pattern.Length > 0) pattern.Append('|');
            if (t.LStrip) pattern.Append(@"\s*");
            if (t.SingleWord) pattern.Append(@"(?<![\p{L}\p{N}_])");
            pattern.Append("(?<" + ContentGroup + ">").Append(Regex.Escape(t.Content)).Append(')');
            if (t.SingleWord) pattern.Append(@"(?![\p{L}\p{N}_])");
            if (t.RStrip) pattern.Append(@"\s*");
        }
        _regex = new Regex(pattern.ToString(), RegexOptions.CultureInvariant | RegexOptions.Compiled);
    }

    /// <summary>
    /// Calls <paramref name="onText"/> for each stretch of ordinary text (never empty) and
    /// <paramref name="onToken"/> for each added token, in order.
    /// </summary>
    public void Split(string text, Action<string> onText, Action<int> onToken)
    {
        if (_regex is null)
        {
            if (text.Length > 0) onText(text);
            return;
        }
        int pos = 0;
        for (var m = _regex.Match(text); m.Success; m = m.NextMatch())
        {
            if (m.Index > pos) onText(text[pos..m.Index]);
            onToken(_idByContent[m.Groups[ContentGroup].Value]);
            pos = m.Index + m.Length;
        }
        if (pos < text.Length) onText(text[pos..]);
    }
}
