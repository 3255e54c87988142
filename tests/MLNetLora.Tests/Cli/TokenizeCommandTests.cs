using System.Text.Json;
using MLNetLora.Models.Tokenization;

namespace MLNetLora.Tests.Cli;

public class TokenizeCommandTests
{
    private const string Text = "Hello world, this is a test.";
    private static readonly string Llama = TestPaths.Fixture("llama");

    [Test]
    public void Tokenize_Text_PrintsTheTokenizersIdsAndTokens()
    {
        var tokenizer = HfTokenizer.Load(Llama);
        int[] ids = tokenizer.Encode(Text);
        var r = CliRun.Run("tokenize", Llama, Text);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Does.Contain("ids: " + string.Join(" ", ids)));
        Assert.That(r.Out, Does.Contain($"{ids.Length} tokens"));
        foreach (int id in ids) Assert.That(r.Out, Does.Contain(tokenizer.IdToToken(id)));
    }

    [Test]
    public void Tokenize_NoSpecial_OmitsBos()
    {
        var tokenizer = HfTokenizer.Load(Llama);
        int[] ids = tokenizer.Encode(Text, addSpecialTokens: false);
        Assert.That(ids[0], Is.Not.EqualTo(tokenizer.BosId), "the fixture must add a BOS for this test to mean anything");
        var r = CliRun.Run("tokenize", Llama, Text, "--no-special");
        Assert.That(r.Out, Does.Contain("ids: " + string.Join(" ", ids) + Environment.NewLine));
        Assert.That(r.Out, Does.Not.Contain("<|bos|>"));
    }

    [Test]
    public void Tokenize_Json_GivesIdsAndTokensArrays()
    {
        var tokenizer = HfTokenizer.Load(Llama);
        var r = CliRun.Run("tokenize", Llama, Text, "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        using var doc = JsonDocument.Parse(r.Out);
        int[] ids = doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        string[] tokens = doc.RootElement.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.That(ids, Is.EqualTo(tokenizer.Encode(Text)));
        Assert.That(tokens, Is.EqualTo(ids.Select(i => tokenizer.IdToToken(i))));
    }

    [Test]
    public void Tokenize_TextStartingWithDash_WorksAfterSeparator()
    {
        var tokenizer = HfTokenizer.Load(Llama);
        var r = CliRun.Run("tokenize", Llama, "--", "-x and more");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Does.Contain("ids: " + string.Join(" ", tokenizer.Encode("-x and more"))));
    }

    [Test]
    public void Tokenize_SentencePieceFolderWithoutConfig_MatchesHuggingFaceIds()
    {
        string folder = TestPaths.Fixture("tokenizer-sentencepiece");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "reference_encodings.json")));
        var probe = doc.RootElement[0];
        int[] expected = probe.GetProperty("ids_no_special").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var r = CliRun.Run("tokenize", folder, probe.GetProperty("text").GetString()!, "--no-special", "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        using var output = JsonDocument.Parse(r.Out);
        Assert.That(output.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()), Is.EqualTo(expected));
    }

    [Test]
    public void Tokenize_FolderWithoutTokenizer_IsUserError()
    {
        string folder = TestPaths.NewTempDir();
        var r = CliRun.Run("tokenize", folder, "text");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Error, Does.Contain("tokenizer.json"));
    }

    [Test]
    public void Tokenize_InputFile_OneJsonLinePerTextAndTotalsOnStderr()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            string txt = Path.Combine(dir, "texts.txt"), jsonl = Path.Combine(dir, "texts.jsonl");
            string[] texts = ["Call me Ishmael.", "", "The whale, the whale!"];
            File.WriteAllLines(txt, texts);
            File.WriteAllLines(jsonl, texts.Select(t => JsonSerializer.Serialize(new { text = t, other = 1 })));
            var tokenizer = HfTokenizer.Load(Llama);
            foreach (string file in new[] { txt, jsonl })
            {
                var r = CliRun.Run("tokenize", Llama, "--input", file, "--tokens");
                Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
                var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.That(lines, Has.Length.EqualTo(3));
                for (int i = 0; i < 3; i++)
                {
                    using var doc = JsonDocument.Parse(lines[i]);
                    int[] ids = doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                    Assert.That(ids, Is.EqualTo(tokenizer.Encode(texts[i])), file + " line " + i);
                    Assert.That(doc.RootElement.GetProperty("tokens").GetArrayLength(), Is.EqualTo(ids.Length));
                }
                Assert.That(r.Error, Does.Contain($"3 texts, {texts.Sum(t => tokenizer.Encode(t).Length)} tokens"));
            }
            var both = CliRun.Run("tokenize", Llama, "hello", "--input", txt);
            Assert.That(both.ExitCode, Is.EqualTo(2));
            Assert.That(both.Error, Does.Contain("TEXT or as --input FILE"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
