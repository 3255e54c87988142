using System.Text.Json;

namespace MLNetLora.Tests.Tokenization;

/// <summary>
/// One probe text with what Hugging Face produced for it: from a fixture's reference_encodings.json or
/// from a case of HfVariants.json. Fields a file leaves out are null.
/// </summary>
public sealed record ReferenceProbe(string Text, int[]? Ids, int[] IdsNoSpecial, string Decoded, string? DecodedWithSpecial)
{
    public static ReferenceProbe FromJson(JsonElement e) => new(
        e.GetProperty("text").GetString()!,
        e.TryGetProperty("ids", out var ids) ? Ints(ids) : null,
        Ints(e.GetProperty("ids_no_special")),
        e.GetProperty("decoded").GetString()!,
        e.TryGetProperty("decoded_with_special", out var d) ? d.GetString() : null);

    /// <summary>The probes of <c>fixtures/hf/NAME/reference_encodings.json</c>.</summary>
    public static IReadOnlyList<ReferenceProbe> ForFixture(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixture(name), "reference_encodings.json")));
        return doc.RootElement.EnumerateArray().Select(FromJson).ToList();
    }

    // Keeps NUnit's generated test names short and printable.
    public override string ToString() => JsonSerializer.Serialize(Text.Length > 40 ? Text[..40] + "…" : Text);

    private static int[] Ints(JsonElement arr) => arr.EnumerateArray().Select(x => x.GetInt32()).ToArray();
}
