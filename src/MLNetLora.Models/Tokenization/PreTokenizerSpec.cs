using System.Text.Json;
using System.Text.RegularExpressions;

namespace MLNetLora.Models.Tokenization;

/// <summary>
/// The <c>pre_tokenizer</c> of a byte-level <c>tokenizer.json</c> reduced to what encoding needs: the
/// split patterns in order and whether a space is prepended to each stretch of text.
/// </summary>
/// <remarks>
/// Supported: <c>ByteLevel</c> (GPT-2's pattern when <c>use_regex</c> is true), <c>Split</c> with
/// behavior <c>Isolated</c> and a <c>Regex</c> or <c>String</c> pattern (Llama 3, Qwen), and
/// <c>Sequence</c>s of these. HF patterns are Oniguruma syntax; the ones shipped by these models are also
/// valid .NET regexes with the same meaning.
/// </remarks>
internal sealed class PreTokenizerSpec
{
    private PreTokenizerSpec(List<string> patterns, bool addPrefixSpace)
    {
        Patterns = patterns;
        AddPrefixSpace = addPrefixSpace;
    }

    /// <summary>Regexes applied one after another, each keeping matches and the gaps between them.</summary>
    public IReadOnlyList<string> Patterns { get; }

    /// <summary>Whether <c>ByteLevel(add_prefix_space=true)</c> asks for a leading space.</summary>
    public bool AddPrefixSpace { get; }

    /// <summary>Whether <paramref name="spec"/> is, or contains, a <c>ByteLevel</c> pre-tokenizer.</summary>
    public static bool MentionsByteLevel(JsonElement spec) => spec.ValueKind == JsonValueKind.Object && TypeOf(spec) switch
    {
        "ByteLevel" => true,
        "Sequence" => spec.TryGetProperty("pretokenizers", out var list) && list.EnumerateArray().Any(MentionsByteLevel),
        _ => false,
    };

    /// <summary>Reads <paramref name="spec"/>.</summary>
    /// <exception cref="NotSupportedException">A step is not one of the supported kinds, or is configured in a way that cannot be reproduced.</exception>
    /// <exception cref="InvalidDataException">A <c>Split</c> pattern is missing or is not a valid regex.</exception>
    public static PreTokenizerSpec Parse(JsonElement spec)
    {
        var patterns = new List<string>();
        bool addPrefixSpace = false;
        int splits = 0;
        Collect(spec, patterns, ref addPrefixSpace, ref splits);
        // HF prepends the space before any split that follows; only the ByteLevel-alone layout (GPT-2,
        // RoBERTa) is reproduced, where that is the same as prepending it to the whole stretch.
        if (addPrefixSpace && splits > 0)
            throw new NotSupportedException("tokenizer.json: ByteLevel(add_prefix_space=true) combined with Split pre-tokenizers is not supported.");
        return new PreTokenizerSpec(patterns, addPrefixSpace);
    }

    private static void Collect(JsonElement spec, List<string> patterns, ref bool addPrefixSpace, ref int splits)
    {
        string type = TypeOf(spec);
        switch (type)
        {
            case "Sequence":
                foreach (var step in spec.GetProperty("pretokenizers").EnumerateArray()) Collect(step, patterns, ref addPrefixSpace, ref splits);
                break;
            case "ByteLevel":
                // tokenizers defaults both flags to true when a field is absent.
                if (Bool(spec, "add_prefix_space", true)) addPrefixSpace = true;
                if (Bool(spec, "use_regex", true)) patterns.Add(RegexSplitter.Gpt2Pattern);
                break;
            case "Split":
                patterns.Add(SplitPattern(spec));
                splits++;
                break;
            default:
                throw new NotSupportedException(
                    $"tokenizer.json declares a '{type}' pre-tokenizer; only ByteLevel, Split (Isolated) and Sequence are supported for byte-level BPE.");
        }
    }

    private static string SplitPattern(JsonElement spec)
    {
        string behavior = spec.TryGetProperty("behavior", out var b) ? b.GetString() ?? "" : "";
        if (behavior != "Isolated")
            throw new NotSupportedException($"tokenizer.json: Split with behavior '{behavior}' is not supported; only 'Isolated' is.");
        if (Bool(spec, "invert", false))
            throw new NotSupportedException("tokenizer.json: Split with invert=true is not supported.");
        if (!spec.TryGetProperty("pattern", out var p) || p.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException("tokenizer.json: a Split pre-tokenizer has no pattern object.");
        string pattern = p.TryGetProperty("Regex", out var r) ? r.GetString()!
            : p.TryGetProperty("String", out var s) ? Regex.Escape(s.GetString()!)
            : throw new InvalidDataException("tokenizer.json: a Split pattern is neither {\"Regex\": ...} nor {\"String\": ...}.");
        try
        {
            _ = new Regex(pattern, RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"tokenizer.json: the Split regex '{pattern}' is not valid in .NET: {e.Message}", e);
        }
        return pattern;
    }

    private static string TypeOf(JsonElement spec) =>
        spec.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";

    private static bool Bool(JsonElement spec, string name, bool fallback) =>
        spec.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;
}
