using System.Text.Json;
using MLNetLora.Models.Tokenization;

namespace MLNetLora.Tests.Tokenization;

/// <summary>
/// SentencePiece BPE encodings equal Google's sentencepiece (the reference in
/// tests/fixtures/sentencepiece-runs, made by its make_reference.py) on 421 probes: Moby-Dick lines,
/// e-mail text, and runs of one character (<c>=====</c>, <c>| --- |</c>), where Microsoft.ML.Tokenizers'
/// LlamaTokenizer merged in another order.
/// </summary>
public class SentencePieceParityTests
{
    private static string Local => Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "sentencepiece-runs");

    private static IEnumerable<(string Text, int[] Ids)> Reference(string file) =>
        File.ReadLines(Path.Combine(Local, file)).Select(l =>
        {
            using var doc = JsonDocument.Parse(l);
            return (doc.RootElement.GetProperty("text").GetString()!, doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        });

    [TestCase("reference.jsonl", false)]
    [TestCase("reference-shared-model.jsonl", true)]
    public void Encode_EveryProbe_EqualsSentencePiece(string reference, bool sharedModel)
    {
        string dir = sharedModel ? TestPaths.Fixture("tokenizer-sentencepiece") : Local;
        var tok = HfTokenizer.Load(dir);
        var probes = Reference(reference).ToList();
        var wrong = probes.Where(p => !tok.Encode(p.Text, addSpecialTokens: false).SequenceEqual(p.Ids))
            .Select(p => $"{JsonSerializer.Serialize(p.Text)}: got [{string.Join(",", tok.Encode(p.Text, false))}], sentencepiece [{string.Join(",", p.Ids)}]").ToList();
        Assert.That(probes, Has.Count.EqualTo(421));
        Assert.That(wrong, Is.Empty, $"{wrong.Count} of {probes.Count} differ");
    }

    [Test]
    public void Decode_EncodedProbe_GivesTheTextBack()
    {
        var tok = HfTokenizer.Load(Local);
        var wrong = Reference("reference.jsonl").Where(p => p.Text.Length > 0 && tok.Decode(p.Ids, skipSpecialTokens: false) != p.Text).Select(p => p.Text).ToList();
        Assert.That(wrong, Is.Empty);
    }

    [Test]
    public void Encode_LegacyTrue_PutsTheDummyPrefixAfterAnAddedToken_LegacyFalseDoesNot()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            File.Copy(Path.Combine(Local, "tokenizer.model"), Path.Combine(dir, "tokenizer.model"));
            var plain = HfTokenizer.Load(dir);
            int[] world = plain.Encode("World", addSpecialTokens: false);          // "▁World" with the dummy prefix
            int[] bare = plain.Encode("Hello</s>World", addSpecialTokens: false);
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"legacy\": true}");
            var legacy = HfTokenizer.Load(dir);
            int[] withPrefix = legacy.Encode("Hello</s>World", addSpecialTokens: false);
            int eos = Array.IndexOf(bare, 2);
            Assert.That(eos, Is.GreaterThan(0), "</s> is cut out as its own id");
            Assert.That(withPrefix[(eos + 1)..], Is.EqualTo(world), "legacy: the text after </s> is encoded as a new text (with ▁)");
            Assert.That(bare[(eos + 1)..], Is.Not.EqualTo(world), "legacy absent: no ▁ after </s> (as the shared fixture's HF reference encodings have it)");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Encode_AddedTokensWithRStrip_EatTheWhitespaceAfterThem_AsPhi3sChatTokensDo()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            File.Copy(Path.Combine(Local, "tokenizer.model"), Path.Combine(dir, "tokenizer.model"));
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """
                {"added_tokens_decoder": {
                  "1200": {"content": "<|user|>", "lstrip": false, "rstrip": true, "single_word": false, "normalized": false, "special": true},
                  "1201": {"content": "<|end|>", "lstrip": false, "rstrip": true, "single_word": false, "normalized": false, "special": true},
                  "1202": {"content": "<|assistant|>", "lstrip": false, "rstrip": true, "single_word": false, "normalized": false, "special": true}}}
                """);
            var tok = HfTokenizer.Load(dir);
            int[] ids = tok.Encode("<|user|>\nHi<|end|>\n<|assistant|>", addSpecialTokens: false);
            int[] hi = EncodeWithoutPrefix(tok, "Hi");
            Assert.That(ids[0], Is.EqualTo(1200));
            Assert.That(ids[^1], Is.EqualTo(1202));
            Assert.That(ids, Has.No.Member(tok.TokenToId("<0x0A>")), "rstrip removed both newlines");
            Assert.That(ids[1..^2], Is.EqualTo(hi));
            Assert.That(ids[^2], Is.EqualTo(1201));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // "Hi" after an added token: no dummy prefix (non-legacy).
    private static int[] EncodeWithoutPrefix(HfTokenizer tok, string text)
    {
        int[] withMarker = tok.Encode("</s>" + text, addSpecialTokens: false);
        return withMarker[1..];
    }
}
