using MLNetLora.Models.Tokenization;

namespace MLNetLora.Tests.Tokenization;

/// <summary>What Load says when the folder is missing, empty, malformed or of an unsupported kind.</summary>
public class HfTokenizerLoadErrorTests
{
    [Test]
    public void Load_MissingFolder_ThrowsFileNotFoundNamingBothFiles()
    {
        string dir = Path.Combine(TestPaths.NewTempDir(), "no-such-model");
        var ex = Assert.Throws<FileNotFoundException>(() => HfTokenizer.Load(dir));
        Assert.That(ex!.Message, Does.Contain("does not exist")
            .And.Contain(Path.Combine(dir, "tokenizer.json"))
            .And.Contain(Path.Combine(dir, "tokenizer.model")));
    }

    [Test]
    public void Load_FolderWithoutTokenizerFiles_ThrowsFileNotFoundSayingWhatToDo()
    {
        string dir = TestPaths.NewTempDir().With("config.json", "{}");
        var ex = Assert.Throws<FileNotFoundException>(() => HfTokenizer.Load(dir));
        Assert.That(ex!.Message, Does.Contain("No tokenizer in").And.Contain("copy the tokenizer files"));
        Assert.That(ex.FileName, Is.EqualTo(Path.Combine(dir, "tokenizer.json")));
    }

    [TestCase("")]
    [TestCase("   ")]
    public void Load_BlankPath_ThrowsArgumentException(string dir) =>
        Assert.Throws<ArgumentException>(() => HfTokenizer.Load(dir));

    [Test]
    public void Load_MalformedTokenizerJson_ThrowsInvalidData()
    {
        string dir = TestPaths.NewTempDir().With("tokenizer.json", """{"model": {"type": "BPE", """);
        var ex = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(dir));
        Assert.That(ex!.Message, Does.Contain("tokenizer.json"));
    }

    [Test]
    public void Load_WordPieceTokenizerJson_ThrowsNotSupportedNamingTheModel()
    {
        string dir = TestPaths.NewTempDir().With("tokenizer.json", """
            {"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "pre_tokenizer": {"type": "BertPreTokenizer"}}
            """);
        var ex = Assert.Throws<NotSupportedException>(() => HfTokenizer.Load(dir));
        Assert.That(ex!.Message, Does.Contain("WordPiece").And.Contain("tokenizer.model"));
    }

    [TestCase("""{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Removed", "invert": false}, {"type": "ByteLevel", "use_regex": false}]}""", "Removed")]
    [TestCase("""{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": true, "use_regex": false}]}""", "add_prefix_space")]
    [TestCase("""{"type": "Sequence", "pretokenizers": [{"type": "Digits"}, {"type": "ByteLevel", "use_regex": false}]}""", "Digits")]
    public void Load_UnsupportedPreTokenizer_ThrowsNotSupported(string preTokenizer, string named)
    {
        string dir = BpeWith("pre_tokenizer", preTokenizer);
        var ex = Assert.Throws<NotSupportedException>(() => HfTokenizer.Load(dir));
        Assert.That(ex!.Message, Does.Contain(named));
    }

    [Test]
    public void Load_UnsupportedNormalizer_ThrowsNotSupported()
    {
        string dir = BpeWith("normalizer", """{"type": "Replace", "pattern": {"String": " "}, "content": "_"}""");
        var ex = Assert.Throws<NotSupportedException>(() => HfTokenizer.Load(dir));
        Assert.That(ex!.Message, Does.Contain("Replace"));
    }

    [Test]
    public void Load_MergeOfTokensOutsideTheVocabulary_ThrowsInvalidData()
    {
        string dir = TestPaths.NewTempDir().With("tokenizer.json", """
            {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]},
             "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}}
            """);
        var ex = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(dir));
        Assert.That(ex!.Message, Does.Contain("merges"));
    }

    [Test]
    public void Load_CorruptTokenizerModel_ThrowsInvalidData()
    {
        string dir = TestPaths.NewTempDir();
        File.WriteAllBytes(Path.Combine(dir, "tokenizer.model"), [0xFF, 0x13, 0x07, 0x42, 0x00, 0x99]);
        var ex = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(dir));
        Assert.That(ex!.Message, Does.Contain("tokenizer.model"));
    }

    // Llama 2 checkpoints ship a Metaspace tokenizer.json beside tokenizer.model: the SentencePiece model is
    // used for the ids while the JSON still supplies the added tokens and the post-processor.
    [Test]
    public void Load_MetaspaceTokenizerJsonBesideTokenizerModel_UsesSentencePieceAndTheJsonTemplate()
    {
        string dir = TokenizerFolder.CopyOf("tokenizer-sentencepiece", "tokenizer.model").With("tokenizer.json", """
            {"added_tokens": [{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true},
                              {"id": 2, "content": "</s>", "special": true}],
             "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false},
             "post_processor": {"type": "TemplateProcessing",
               "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
               "special_tokens": {"<s>": {"id": "<s>", "ids": [1]}, "</s>": {"id": "</s>", "ids": [2]}}},
             "model": {"type": "BPE", "byte_fallback": true, "vocab": {}, "merges": []}}
            """);
        var probe = ReferenceProbe.ForFixture("tokenizer-sentencepiece")[0];
        var t = HfTokenizer.Load(dir);
        Assert.That(t.Encode(probe.Text), Is.EqualTo(probe.IdsNoSpecial.Prepend(1).Append(2)));
        Assert.That(t.Decode(t.Encode(probe.Text)), Is.EqualTo(probe.Decoded));
    }

    private static string BpeWith(string field, string json)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixture("tokenizer-bpe"), "tokenizer.json")))!;
        root[field] = System.Text.Json.Nodes.JsonNode.Parse(json);
        return TestPaths.NewTempDir().With("tokenizer.json", root.ToJsonString());
    }
}
