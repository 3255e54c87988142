using MLNetLora.Models.Tokenization;

namespace MLNetLora.Tests.Tokenization;

/// <summary>
/// The layouts real checkpoints ship (Split regexes, NFC, Sequence/Roberta post-processors, string merges,
/// ignore_merges, lstrip/rstrip/single_word added tokens), checked against Hugging Face's own output.
/// </summary>
public class HfTokenizerVariantTests
{
    private static readonly Lazy<Dictionary<string, HfTokenizer>> Loaded = new(() =>
        HfVariantBuilder.Load().ToDictionary(v => v.Name, v => HfTokenizer.Load(HfVariantBuilder.Write(v))));

    public static IEnumerable<TestCaseData> Cases() =>
        HfVariantBuilder.Load().SelectMany(v => v.Cases.Select(c => new TestCaseData(v.Name, c).SetArgDisplayNames(v.Name, c.ToString())));

    [Test]
    public void Load_VariantSpec_CoversEveryVariantWithEveryText()
    {
        var variants = HfVariantBuilder.Load();
        Assert.That(variants.Select(v => v.Name), Is.EquivalentTo(Names("llama3-split", "qwen2-split-nfc", "roberta-prefix-space")));
        Assert.That(variants.Select(v => v.Cases.Count), Is.All.EqualTo(14));
    }

    [TestCaseSource(nameof(Cases))]
    public void Encode_WithSpecialTokens_MatchesHuggingFace(string variant, ReferenceProbe probe) =>
        Assert.That(Loaded.Value[variant].Encode(probe.Text, addSpecialTokens: true), Is.EqualTo(probe.Ids));

    [TestCaseSource(nameof(Cases))]
    public void Encode_WithoutSpecialTokens_MatchesHuggingFace(string variant, ReferenceProbe probe) =>
        Assert.That(Loaded.Value[variant].Encode(probe.Text, addSpecialTokens: false), Is.EqualTo(probe.IdsNoSpecial));

    [TestCaseSource(nameof(Cases))]
    public void Decode_SkippingSpecialTokens_MatchesHuggingFace(string variant, ReferenceProbe probe) =>
        Assert.That(Loaded.Value[variant].Decode(probe.Ids!, skipSpecialTokens: true), Is.EqualTo(probe.Decoded));

    [TestCaseSource(nameof(Cases))]
    public void Decode_KeepingSpecialTokens_MatchesHuggingFace(string variant, ReferenceProbe probe) =>
        Assert.That(Loaded.Value[variant].Decode(probe.Ids!, skipSpecialTokens: false), Is.EqualTo(probe.DecodedWithSpecial));

    [Test]
    public void Load_QwenStyleConfig_ExposesNamedTokensAndKeepsNonSpecialAddedTokens()
    {
        var t = Loaded.Value["qwen2-split-nfc"];
        Assert.That((t.BosId, t.EosId, t.PadId), Is.EqualTo(((int?)null, (int?)2050, (int?)2048)));
        Assert.That(t.SpecialTokenIds, Is.EqualTo(Ids(0, 1, 2, 2048, 2049, 2050)), "<tool_call> is added but not special");
        Assert.That(t.VocabSize, Is.EqualTo(2053));
        Assert.That(t.TokenToId("<tool_call>"), Is.EqualTo(2051));
        Assert.That(t.IdToToken(2052), Is.EqualTo("</tool_call>"));
    }

    [Test]
    public void Load_NoTokenizerConfig_LeavesNamedTokensUnset()
    {
        var t = Loaded.Value["roberta-prefix-space"];
        Assert.That((t.BosId, t.EosId, t.PadId, t.UnkId), Is.EqualTo(((int?)null, (int?)null, (int?)null, (int?)null)));
        Assert.That(t.Encode("x"), Is.EqualTo(Ids(0, 223, 90, 1)), "RobertaProcessing still wraps the text");
    }

    private static int[] Ids(params int[] ids) => ids;

    private static string[] Names(params string[] names) => names;
}
