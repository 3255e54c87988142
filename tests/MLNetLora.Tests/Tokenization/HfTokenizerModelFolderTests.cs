using System.Text.Json;
using MLNetLora.Models.Tokenization;

namespace MLNetLora.Tests.Tokenization;

/// <summary>The tokenizers of the llama/ and qwen2/ checkpoint fixtures, as a trainer would load them.</summary>
public class HfTokenizerModelFolderTests
{
    private static readonly string[] Texts =
    [
        "Call me Ishmael. Some years ago—never mind how long precisely—",
        "  two leading spaces, a tab\tand a newline\n",
        "Ünïcödé 東京 🐳 and numbers 3.14159",
        "",
    ];

    public static IEnumerable<string> Models() => ["llama", "qwen2"];

    [TestCaseSource(nameof(Models))]
    public void Load_CheckpointFolder_ReadsSpecialTokensAndVocabulary(string model)
    {
        var t = HfTokenizer.Load(TestPaths.Fixture(model));
        Assert.That((t.BosId, t.EosId, t.PadId), Is.EqualTo(((int?)0, (int?)1, (int?)2)));
        Assert.That(t.VocabSize, Is.EqualTo(ConfigVocabSize(model)), "matches the embedding rows in config.json");
    }

    [TestCaseSource(nameof(Models))]
    public void Decode_EncodedText_RoundTrips(string model)
    {
        var t = HfTokenizer.Load(TestPaths.Fixture(model));
        foreach (string text in Texts)
        {
            int[] ids = t.Encode(text);
            Assert.That(ids[0], Is.EqualTo(t.BosId), text);
            Assert.That(ids.Skip(1), Is.EqualTo(t.Encode(text, addSpecialTokens: false)), text);
            Assert.That(t.Decode(ids), Is.EqualTo(text), text);
        }
    }

    [TestCaseSource(nameof(Models))]
    public void Encode_SpecialTokenWrittenInText_BecomesOneId(string model)
    {
        var t = HfTokenizer.Load(TestPaths.Fixture(model));
        int[] ids = t.Encode("The whale<|eos|>", addSpecialTokens: false);
        Assert.That(ids[^1], Is.EqualTo(t.EosId));
        Assert.That(ids.Count(id => id == t.EosId), Is.EqualTo(1));
        Assert.That(t.Decode(ids, skipSpecialTokens: false), Is.EqualTo("The whale<|eos|>"));
        Assert.That(t.Decode(ids), Is.EqualTo("The whale"));
    }

    [Test]
    public void TokenToId_VocabularyAndAddedTokens_AgreeWithIdToToken()
    {
        var t = HfTokenizer.Load(TestPaths.Fixture("llama"));
        Assert.That(t.TokenToId("Ġwhale"), Is.EqualTo(379));
        Assert.That(t.IdToToken(379), Is.EqualTo("Ġwhale"));
        Assert.That(t.TokenToId("<|pad|>"), Is.EqualTo(2));
        Assert.That(t.IdToToken(2), Is.EqualTo("<|pad|>"));
        Assert.That(t.TokenToId(" whale"), Is.Null, "vocabulary spelling uses Ġ for the space byte");
        Assert.That(t.IdToToken(2048), Is.Null);
        Assert.That(t.IdToToken(-1), Is.Null);
    }

    [Test]
    public void Decode_IdsOutsideTheVocabulary_AreIgnored()
    {
        var t = HfTokenizer.Load(TestPaths.Fixture("llama"));
        Assert.That(t.Decode([698, 5000, 379, -3]), Is.EqualTo("The whale"));
    }

    private static int ConfigVocabSize(string model)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixture(model), "config.json")));
        return doc.RootElement.GetProperty("vocab_size").GetInt32();
    }
}
