using System.Text.Json;

namespace MLNetLora.Models.Tokenization;

/// <summary>
/// The ids a post-processor puts around a single sequence when special tokens are requested, e.g.
/// <c>&lt;|begin_of_text|&gt; $A</c> for Llama 3 or <c>&lt;s&gt; $A</c> for Llama 2.
/// </summary>
/// <param name="Prefix">Ids placed before the text's ids.</param>
/// <param name="Suffix">Ids placed after the text's ids.</param>
/// <param name="Pair">
/// The ids around and between a pair of sequences (<c>TemplateProcessing</c>'s <c>pair</c>); null = the
/// single template around each sequence, which is what transformers' Llama tokenizers build.
/// </param>
internal sealed record SpecialTokenTemplate(int[] Prefix, int[] Suffix, (int[] BeforeA, int[] BetweenAB, int[] AfterB)? Pair = null)
{
    /// <summary>No ids around the text (GPT-2, Qwen).</summary>
    public static SpecialTokenTemplate None { get; } = new([], []);

    /// <summary>
    /// Reads a <c>post_processor</c>: <c>TemplateProcessing</c>, <c>BertProcessing</c>,
    /// <c>RobertaProcessing</c>, or a <c>Sequence</c> holding one of them (Llama 3 pairs it with
    /// <c>ByteLevel</c>, which changes offsets only). Anything else adds nothing.
    /// </summary>
    /// <exception cref="InvalidDataException">A template names a special token without ids.</exception>
    public static SpecialTokenTemplate Parse(JsonElement spec)
    {
        if (spec.ValueKind != JsonValueKind.Object || !spec.TryGetProperty("type", out var typeJson)) return None;
        switch (typeJson.GetString())
        {
            case "TemplateProcessing":
                return FromTemplate(spec);
            case "BertProcessing":
            {
                int cls = PairId(spec, "cls"), sep = PairId(spec, "sep");
                return new SpecialTokenTemplate([cls], [sep], ([cls], [sep], [sep]));
            }
            case "RobertaProcessing":
            {
                int cls = PairId(spec, "cls"), sep = PairId(spec, "sep");
                return new SpecialTokenTemplate([cls], [sep], ([cls], [sep, sep], [sep]));
            }
            case "Sequence":
                foreach (var p in spec.GetProperty("processors").EnumerateArray())
                {
                    var t = Parse(p);
                    if (!ReferenceEquals(t, None)) return t;
                }
                return None;
            default:
                return None;
        }
    }

    /// <summary>This template with one side replaced where <c>tokenizer_config.json</c> sets a flag.</summary>
    /// <remarks>
    /// transformers' Llama-family tokenizers rebuild their post-processor from <c>add_bos_token</c> and
    /// <c>add_eos_token</c>, so an explicit flag wins over what <c>tokenizer.json</c> stored.
    /// </remarks>
    public SpecialTokenTemplate WithOverrides(bool? addBos, int? bosId, bool? addEos, int? eosId)
    {
        int[] prefix = addBos switch
        {
            true when bosId is int b => [b],
            true => throw new InvalidDataException("tokenizer_config.json sets add_bos_token but names no bos_token."),
            false => [],
            null => Prefix,
        };
        int[] suffix = addEos switch
        {
            true when eosId is int e => [e],
            true => throw new InvalidDataException("tokenizer_config.json sets add_eos_token but names no eos_token."),
            false => [],
            null => Suffix,
        };
        // transformers rebuilds the pair template from the same flags, as single(A) + single(B).
        bool changed = !prefix.AsSpan().SequenceEqual(Prefix) || !suffix.AsSpan().SequenceEqual(Suffix);
        return new SpecialTokenTemplate(prefix, suffix, changed ? null : Pair);
    }

    private static SpecialTokenTemplate FromTemplate(JsonElement spec)
    {
        var prefix = new List<int>();
        var suffix = new List<int>();
        bool seenSequence = false;
        foreach (var item in spec.GetProperty("single").EnumerateArray())
        {
            if (item.TryGetProperty("Sequence", out _))
            {
                seenSequence = true;
                continue;
            }
            if (!item.TryGetProperty("SpecialToken", out var st)) continue;
            string name = st.GetProperty("id").GetString()!;
            (seenSequence ? suffix : prefix).AddRange(SpecialIds(spec, name));
        }
        return new SpecialTokenTemplate([.. prefix], [.. suffix], spec.TryGetProperty("pair", out var pair) ? PairTemplate(spec, pair) : null);
    }

    private static (int[], int[], int[]) PairTemplate(JsonElement spec, JsonElement pair)
    {
        var parts = new[] { new List<int>(), new List<int>(), new List<int>() };
        int part = 0;
        foreach (var item in pair.EnumerateArray())
        {
            if (item.TryGetProperty("Sequence", out _))
            {
                part = Math.Min(part + 1, 2);
                continue;
            }
            if (item.TryGetProperty("SpecialToken", out var st)) parts[part].AddRange(SpecialIds(spec, st.GetProperty("id").GetString()!));
        }
        return ([.. parts[0]], [.. parts[1]], [.. parts[2]]);
    }

    private static int[] SpecialIds(JsonElement spec, string name)
    {
        if (spec.TryGetProperty("special_tokens", out var table) && table.TryGetProperty(name, out var entry)
            && entry.TryGetProperty("ids", out var ids))
            return ids.EnumerateArray().Select(i => i.GetInt32()).ToArray();
        throw new InvalidDataException($"tokenizer.json: the post-processor template uses '{name}' but its special_tokens table gives no ids for it.");
    }

    // BertProcessing/RobertaProcessing store each special as ["[CLS]", 101].
    private static int PairId(JsonElement spec, string name) =>
        spec.TryGetProperty(name, out var pair) && pair.ValueKind == JsonValueKind.Array && pair.GetArrayLength() == 2
            ? pair[1].GetInt32()
            : throw new InvalidDataException($"tokenizer.json: the post-processor has no \"{name}\" pair.");
}
