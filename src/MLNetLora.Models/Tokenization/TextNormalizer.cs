using System.Text;
using System.Text.Json;

namespace MLNetLora.Models.Tokenization;

/// <summary>
/// The <c>normalizer</c> of a <c>tokenizer.json</c> as a string function: Unicode normalization forms
/// (Qwen declares NFC), lowercasing, and <c>Sequence</c>s of them.
/// </summary>
internal static class TextNormalizer
{
    /// <summary>The function for <paramref name="spec"/>, or <see langword="null"/> when there is no normalizer.</summary>
    /// <exception cref="NotSupportedException">The normalizer type is not one of those listed above.</exception>
    public static Func<string, string>? Parse(JsonElement spec)
    {
        if (spec.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        string type = spec.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        return type switch
        {
            "NFC" => s => s.Normalize(NormalizationForm.FormC),
            "NFD" => s => s.Normalize(NormalizationForm.FormD),
            "NFKC" => s => s.Normalize(NormalizationForm.FormKC),
            "NFKD" => s => s.Normalize(NormalizationForm.FormKD),
            // HF lowercases by Unicode default casing, which is what the invariant culture does.
            "Lowercase" => s => s.ToLowerInvariant(),
            "Sequence" => Chain(spec),
            _ => throw new NotSupportedException(
                $"tokenizer.json declares a '{type}' normalizer; only NFC, NFD, NFKC, NFKD, Lowercase and Sequence are supported for byte-level BPE."),
        };
    }

    private static Func<string, string>? Chain(JsonElement spec)
    {
        var steps = spec.GetProperty("normalizers").EnumerateArray().Select(Parse).OfType<Func<string, string>>().ToArray();
        if (steps.Length == 0) return null;
        return s =>
        {
            foreach (var step in steps) s = step(s);
            return s;
        };
    }
}
