using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetLora.Tests.Tokenization;

/// <summary>
/// Rebuilds the tokenizer folders described by HfVariants.json from the tokenizer-bpe fixture, with the
/// same edits generate-hf-variants.js applies before asking Hugging Face for the expected ids.
/// </summary>
public static class HfVariantBuilder
{
    public static string SpecPath => Path.Combine(TestPaths.RepoRoot, "tests", "MLNetLora.Tests", "Tokenization", "HfVariants.json");

    public sealed record Variant(string Name, JsonObject Edits, JsonObject? Config, IReadOnlyList<ReferenceProbe> Cases)
    {
        public override string ToString() => Name;
    }

    public static IReadOnlyList<Variant> Load()
    {
        var spec = JsonNode.Parse(File.ReadAllText(SpecPath))!.AsObject();
        return spec["variants"]!.AsArray().Select(v => new Variant(
            v!["name"]!.GetValue<string>(),
            v["edits"]!.AsObject(),
            v["config"] as JsonObject,
            v["cases"]!.AsArray().Select(c => ReferenceProbe.FromJson(JsonSerializer.SerializeToElement(c))).ToList())).ToList();
    }

    /// <summary>Writes the variant's tokenizer.json (and tokenizer_config.json if it has one) to a fresh folder.</summary>
    public static string Write(Variant variant)
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixture("tokenizer-bpe"), "tokenizer.json")))!.AsObject();
        var edits = variant.Edits;
        foreach (string key in new[] { "normalizer", "pre_tokenizer", "post_processor", "decoder" })
            if (edits.ContainsKey(key)) root[key] = edits[key]?.DeepClone();

        var model = root["model"]!.AsObject();
        var drop = edits["drop_merges"]?.AsArray().Select(n => n!.GetValue<string>()).ToHashSet() ?? [];
        var merges = new JsonArray();
        foreach (var m in model["merges"]!.AsArray())
        {
            string joined = m is JsonArray pair ? pair[0]!.GetValue<string>() + " " + pair[1]!.GetValue<string>() : m!.GetValue<string>();
            if (drop.Contains(joined)) continue;
            merges.Add(edits["merges_as_strings"]?.GetValue<bool>() == true ? JsonValue.Create(joined) : m!.DeepClone());
        }
        model["merges"] = merges;
        if (edits["ignore_merges"] is JsonNode ignore) model["ignore_merges"] = ignore.DeepClone();
        foreach (var t in edits["extra_added_tokens"]?.AsArray() ?? [])
            root["added_tokens"]!.AsArray().Add(t!.DeepClone());

        string dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), root.ToJsonString());
        if (variant.Config is not null)
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), variant.Config.ToJsonString());
        return dir;
    }
}
