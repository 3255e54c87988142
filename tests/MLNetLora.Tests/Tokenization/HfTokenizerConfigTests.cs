using MLNetLora.Models.Tokenization;

namespace MLNetLora.Tests.Tokenization;

/// <summary>What tokenizer_config.json changes: named tokens, add_bos/add_eos flags, extra added tokens, cleanup.</summary>
public class HfTokenizerConfigTests
{
    private const string Ishmael = "Call me Ishmael.";

    private static ReferenceProbe SpProbe => ReferenceProbe.ForFixture("tokenizer-sentencepiece")[0];

    private static ReferenceProbe BpeProbe => ReferenceProbe.ForFixture("tokenizer-bpe")[0];

    [Test]
    public void Load_AddEosTokenInConfig_AppendsEos()
    {
        string dir = TokenizerFolder.CopyOf("tokenizer-sentencepiece", "tokenizer.model").With("tokenizer_config.json", """{"add_eos_token": true}""");
        var t = HfTokenizer.Load(dir);
        Assert.That(t.Encode(Ishmael), Is.EqualTo(Ids(1).Concat(SpProbe.IdsNoSpecial).Append(2)));
    }

    [Test]
    public void Load_AddBosTokenFalseInConfig_OverridesThePostProcessor()
    {
        string dir = TokenizerFolder.CopyOf("tokenizer-bpe", "tokenizer.json")
            .With("tokenizer_config.json", """{"bos_token": "<|bos|>", "eos_token": "<|eos|>", "add_bos_token": false}""");
        Assert.That(HfTokenizer.Load(dir).Encode(Ishmael), Is.EqualTo(BpeProbe.IdsNoSpecial));
    }

    [Test]
    public void Load_AddBosTokenWithoutBosToken_Throws()
    {
        string dir = TokenizerFolder.CopyOf("tokenizer-bpe", "tokenizer.json").With("tokenizer_config.json", """{"add_bos_token": true}""");
        var ex = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(dir));
        Assert.That(ex!.Message, Does.Contain("add_bos_token"));
    }

    [Test]
    public void Load_SpecialTokensWrittenAsObjects_AreResolved()
    {
        string dir = TokenizerFolder.CopyOf("tokenizer-bpe", "tokenizer.json").With("tokenizer_config.json", """
            {"bos_token": {"__type": "AddedToken", "content": "<|bos|>", "lstrip": false},
             "eos_token": {"content": "<|eos|>"}, "pad_token": null}
            """);
        var t = HfTokenizer.Load(dir);
        Assert.That((t.BosId, t.EosId, t.PadId), Is.EqualTo(((int?)0, (int?)1, (int?)null)));
    }

    [Test]
    public void Load_ConfigNamesATokenThatDoesNotExist_Throws()
    {
        string dir = TokenizerFolder.CopyOf("tokenizer-bpe", "tokenizer.json").With("tokenizer_config.json", """{"eos_token": "<|nope|>"}""");
        var ex = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(dir));
        Assert.That(ex!.Message, Does.Contain("eos_token").And.Contain("<|nope|>"));
    }

    [Test]
    public void Load_AddedTokensDecoderBesideTokenizerModel_CutsThemOutOfText()
    {
        string dir = TokenizerFolder.CopyOf("tokenizer-sentencepiece", "tokenizer.model").With("tokenizer_config.json", """
            {"added_tokens_decoder": {"1000": {"content": "<|extra|>", "special": true}}, "pad_token": "<|extra|>"}
            """);
        var t = HfTokenizer.Load(dir);
        int[] ids = t.Encode("whale<|extra|>whale", addSpecialTokens: false);
        Assert.That(ids.Count(id => id == 1000), Is.EqualTo(1));
        Assert.That((t.PadId, t.VocabSize), Is.EqualTo(((int?)1000, 1001)));
        Assert.That(t.SpecialTokenIds, Does.Contain(1000));
        Assert.That(t.Decode(ids, skipSpecialTokens: false), Is.EqualTo("whale<|extra|>whale"));
    }

    [Test]
    public void Decode_CleanUpTokenizationSpacesInConfig_RemovesSpacesBeforePunctuation()
    {
        const string text = "Hi , there . I 'm here !";
        string plain = TokenizerFolder.CopyOf("tokenizer-bpe", "tokenizer.json");
        string cleaned = TokenizerFolder.CopyOf("tokenizer-bpe", "tokenizer.json").With("tokenizer_config.json", """{"clean_up_tokenization_spaces": true}""");
        var a = HfTokenizer.Load(plain);
        var b = HfTokenizer.Load(cleaned);
        Assert.That(a.Decode(a.Encode(text)), Is.EqualTo(text));
        Assert.That(b.Decode(b.Encode(text)), Is.EqualTo("Hi, there. I'm here!"));
    }

    private static int[] Ids(params int[] ids) => ids;
}
