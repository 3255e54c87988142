using MLNetLora.Models.Tokenization;

namespace MLNetLora.Tests.Tokenization;

/// <summary>Every probe of the two tokenizer fixtures against the ids Hugging Face produced for it.</summary>
public class HfTokenizerReferenceTests
{
    private static readonly Lazy<HfTokenizer> Bpe = new(() => HfTokenizer.Load(TestPaths.Fixture("tokenizer-bpe")));
    private static readonly Lazy<HfTokenizer> Sp = new(() => HfTokenizer.Load(TestPaths.Fixture("tokenizer-sentencepiece")));

    public static IEnumerable<ReferenceProbe> BpeProbes() => ReferenceProbe.ForFixture("tokenizer-bpe");

    public static IEnumerable<ReferenceProbe> SentencePieceProbes() => ReferenceProbe.ForFixture("tokenizer-sentencepiece");

    [Test]
    public void ForFixture_BothTokenizers_HaveSevenProbes()
    {
        Assert.That(BpeProbes().Count(), Is.EqualTo(7));
        Assert.That(SentencePieceProbes().Count(), Is.EqualTo(7));
    }

    [TestCaseSource(nameof(BpeProbes))]
    public void Encode_BpeWithSpecialTokens_MatchesHuggingFace(ReferenceProbe probe) =>
        Assert.That(Bpe.Value.Encode(probe.Text, addSpecialTokens: true), Is.EqualTo(probe.Ids));

    [TestCaseSource(nameof(BpeProbes))]
    public void Encode_BpeWithoutSpecialTokens_MatchesHuggingFace(ReferenceProbe probe) =>
        Assert.That(Bpe.Value.Encode(probe.Text, addSpecialTokens: false), Is.EqualTo(probe.IdsNoSpecial));

    // reference_encodings.json decodes `ids` (which start with <|bos|>) and has no <|bos|> in `decoded`,
    // so it was made with skip_special_tokens=True.
    [TestCaseSource(nameof(BpeProbes))]
    public void Decode_BpeSkippingSpecialTokens_MatchesHuggingFace(ReferenceProbe probe) =>
        Assert.That(Bpe.Value.Decode(probe.Ids!, skipSpecialTokens: true), Is.EqualTo(probe.Decoded));

    [TestCaseSource(nameof(BpeProbes))]
    public void Decode_BpeKeepingSpecialTokens_WritesBosLiterally(ReferenceProbe probe) =>
        Assert.That(Bpe.Value.Decode(probe.Ids!, skipSpecialTokens: false), Is.EqualTo("<|bos|>" + probe.Decoded));

    [TestCaseSource(nameof(SentencePieceProbes))]
    public void Encode_SentencePieceWithoutSpecialTokens_MatchesHuggingFace(ReferenceProbe probe) =>
        Assert.That(Sp.Value.Encode(probe.Text, addSpecialTokens: false), Is.EqualTo(probe.IdsNoSpecial));

    // The fixture records no `ids` with specials; a tokenizer.model with no tokenizer.json or config gets
    // transformers' LlamaTokenizer defaults (add_bos_token=True, add_eos_token=False).
    [TestCaseSource(nameof(SentencePieceProbes))]
    public void Encode_SentencePieceWithSpecialTokens_PrependsBosOnly(ReferenceProbe probe) =>
        Assert.That(Sp.Value.Encode(probe.Text, addSpecialTokens: true), Is.EqualTo(Ids(1).Concat(probe.IdsNoSpecial)));

    [TestCaseSource(nameof(SentencePieceProbes))]
    public void Decode_SentencePiece_MatchesHuggingFace(ReferenceProbe probe)
    {
        Assert.That(Sp.Value.Decode(probe.IdsNoSpecial), Is.EqualTo(probe.Decoded));
        Assert.That(Sp.Value.Decode(Sp.Value.Encode(probe.Text)), Is.EqualTo(probe.Decoded), "BOS is skipped");
    }

    [Test]
    public void Load_BpeFixture_ExposesSpecialTokensFromTheFiles()
    {
        var t = Bpe.Value;
        Assert.That((t.BosId, t.EosId, t.PadId, t.UnkId), Is.EqualTo(((int?)0, (int?)1, (int?)2, (int?)null)));
        Assert.That(t.SpecialTokenIds, Is.EqualTo(Ids(0, 1, 2)));
        Assert.That(t.VocabSize, Is.EqualTo(2048));
    }

    [Test]
    public void Load_SentencePieceFixture_TakesSpecialTokensFromTheModel()
    {
        var t = Sp.Value;
        Assert.That((t.BosId, t.EosId, t.PadId, t.UnkId), Is.EqualTo(((int?)1, (int?)2, (int?)null, (int?)0)));
        Assert.That(t.SpecialTokenIds, Is.EqualTo(Ids(0, 1, 2)));
        Assert.That(t.VocabSize, Is.EqualTo(1000));
        Assert.That(t.IdToToken(1), Is.EqualTo("<s>"));
        Assert.That(t.TokenToId("</s>"), Is.EqualTo(2));
    }

    [Test]
    public void Encode_SentencePieceSpecialTokenInText_BecomesItsId()
    {
        var ids = Sp.Value.Encode("hi</s>there", addSpecialTokens: false);
        Assert.That(ids.Count(id => id == 2), Is.EqualTo(1));
        Assert.That(Sp.Value.Decode(ids, skipSpecialTokens: false), Is.EqualTo("hi</s>there"));
        Assert.That(Sp.Value.Decode(ids), Is.EqualTo("hithere"));
    }

    private static int[] Ids(params int[] ids) => ids;
}
