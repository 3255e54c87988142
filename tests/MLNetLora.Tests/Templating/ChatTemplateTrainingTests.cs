using System.Text.Json;
using MLNetLora.Models.Templating;
using MLNetLora.Models.Tokenization;
using MLNetLora.Training.Data;

namespace MLNetLora.Tests.Templating;

/// <summary>
/// Which text of a rendered conversation is learned: the assistant turns, from the end of the generation
/// prompt through the end-of-turn token, on the real templates; and the token mask that follows from it.
/// </summary>
public sealed class ChatTemplateTrainingTests
{
    private static readonly string Folder = Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "chat-templates");

    private static ChatTemplate Real(string name, params string[] specials)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "templates.json")));
        var t = doc.RootElement.GetProperty(name);
        var named = new Dictionary<string, string?> { ["bos_token"] = t.GetProperty("bos_token").GetString(), ["eos_token"] = t.GetProperty("eos_token").GetString() };
        return new ChatTemplate(t.GetProperty("chat_template").GetString()!, named, specials) { Clock = () => new DateTime(2026, 12, 2) };
    }

    private static IReadOnlyList<ChatMessage> Conversation(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "conversations.json")));
        return ChatMessage.ListFromJson(doc.RootElement.GetProperty(name), name);
    }

    private static string[] SpanTexts(RenderedConversation r) => r.AssistantSpans.Select(s => r.Text[s.Start..s.End]).ToArray();

    [TestCase("qwen2.5:0.5b", "<|im_end|>")]
    [TestCase("smollm2:135m", "<|im_end|>")]
    [TestCase("llama3:8b", "<|eot_id|>")]
    [TestCase("llama3.1:8b", "<|eot_id|>")]
    [TestCase("llama3.2:3b", "<|eot_id|>")]
    [TestCase("phi3:3.8b", "<|end|>")]
    public void RenderForTraining_RealTemplate_SpansAreTheAnswersWithTheirEndOfTurnToken(string name, string eot)
    {
        var r = Real(name, eot, "<|endoftext|>").RenderForTraining(Conversation("system_two_turns"));
        Assert.That(SpanTexts(r), Is.EqualTo(new[] { "4." + eot, "6." + eot }));
    }

    [Test]
    public void RenderForTraining_Mistral_SpanEndsWithEos()
    {
        var r = Real("mistral:7b-instruct-fp16", "</s>").RenderForTraining(
        [
            new ChatMessage("user", "What is 2 + 2?"), new ChatMessage("assistant", "4."),
            new ChatMessage("user", "And 3 + 3?"), new ChatMessage("assistant", "6."),
        ]);
        Assert.That(r.Text, Is.EqualTo("<s>[INST] What is 2 + 2? [/INST]4.</s> [INST] And 3 + 3? [/INST]6.</s> "));
        Assert.That(SpanTexts(r), Is.EqualTo(new[] { "4.</s>", "6.</s>" }));
    }

    [Test]
    public void RenderForTraining_Qwen3_EarlierReasoningDroppedLastKept()
    {
        var r = Real("qwen3:0.6b", "<|im_end|>").RenderForTraining(Conversation("reasoning"));
        Assert.That(SpanTexts(r), Is.EqualTo(new[] { "Yes.<|im_end|>", "<think>\n3 times 3.\n</think>\n\nNo.<|im_end|>" }));
    }

    [Test]
    public void RenderForTraining_GenerationBlocks_AreUsedAsWritten()
    {
        const string source = "{% for m in messages %}{% if m.role == 'assistant' %}A: {% generation %}{{ m.content }}!{% endgeneration %}\n{% else %}U: {{ m.content }}\n{% endif %}{% endfor %}";
        var t = new ChatTemplate(source, new Dictionary<string, string?>(), []);
        var r = t.RenderForTraining([new ChatMessage("user", "hi"), new ChatMessage("assistant", "yo")]);
        Assert.That(r.Text, Is.EqualTo("U: hi\nA: yo!"), "trim_blocks drops the newline after endgeneration");
        Assert.That(SpanTexts(r), Is.EqualTo(new[] { "yo!" }));
    }

    [Test]
    public void RenderForTraining_TemplateThatRewritesTheAnswer_SaysSoAndHowToFix()
    {
        var t = new ChatTemplate("{% for m in messages %}{{ m.role }}: {{ m.content | upper }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}",
            new Dictionary<string, string?>(), []);
        var ex = Assert.Throws<TemplateException>(() => t.RenderForTraining([new ChatMessage("user", "a"), new ChatMessage("assistant", "quiet")]));
        Assert.That(ex!.Message, Does.Contain("Message 2").And.Contain("{% generation %}"));
    }

    [Test]
    public void Strftime_LlamaDateFormat()
    {
        Assert.That(ChatTemplate.Strftime(new DateTime(2026, 12, 2), "%d %b %Y"), Is.EqualTo("02 Dec 2026"));
        var t = Real("llama3.2:3b", "<|eot_id|>");
        Assert.That(t.Render([new ChatMessage("user", "Hi")], true), Does.Contain("Today Date: 02 Dec 2026\n"));
    }

    [Test]
    public void Load_ChatTemplateSources_JinjaFileThenConfigStringThenDefaultOfList()
    {
        string dir = ChatFolder.Create(asJinjaFile: false);
        Assert.That(HfTokenizer.Load(dir).ChatTemplate, Is.Null, "the fixture ships no template");
        string config = File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")).TrimEnd().TrimEnd('}');
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config + ", \"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"}, {\"name\": \"default\", \"template\": \"D{{ bos_token }}\"}]}");
        Assert.That(HfTokenizer.Load(dir).ChatTemplate!.Render([new ChatMessage("user", "x")], false), Is.EqualTo("D<|bos|>"));
        File.WriteAllText(Path.Combine(dir, "chat_template.jinja"), "J{{ eos_token }}");
        Assert.That(HfTokenizer.Load(dir).ChatTemplate!.Render([new ChatMessage("user", "x")], false), Is.EqualTo("J<|eos|>"));
        File.WriteAllText(Path.Combine(dir, "chat_template.jinja"), "{% if %}");
        var ex = Assert.Throws<InvalidDataException>(() => HfTokenizer.Load(dir));
        Assert.That(ex!.Message, Does.Contain("chat_template.jinja"));
    }

    [Test]
    public void ChatExampleEncode_MaskCoversExactlyTheAssistantTokens()
    {
        var tok = HfTokenizer.Load(ChatFolder.Create());
        var messages = new[]
        {
            new ChatMessage("system", "Be brief."), new ChatMessage("user", "Call me"), new ChatMessage("assistant", "Ishmael."),
            new ChatMessage("user", "Again"), new ChatMessage("assistant", "Ishmael, again."),
        };
        var e = ChatExample.Encode(tok, tok.ChatTemplate!, messages, 512);
        string text = tok.ChatTemplate!.Render(messages, false);
        Assert.That(e.InputIds, Is.EqualTo(tok.Encode(text, addSpecialTokens: false)), "the ids are the rendered text's, as apply_chat_template(tokenize=True)");
        var learned = Enumerable.Range(0, e.InputIds.Length).Where(e.IsLearned).Select(i => e.InputIds[i]).ToList();
        Assert.That(tok.Decode(learned, skipSpecialTokens: false), Is.EqualTo("Ishmael.<|eos|>Ishmael, again.<|eos|>"));
        var batch = Collator.Collate([e], tok.PadId ?? 0, 512);
        Assert.That(batch.Labels.Count(l => l != Collator.Ignore), Is.EqualTo(learned.Count));
        Assert.That(e.IsLearned(0), Is.False);
    }

    [Test]
    public void DatasetLoader_MessagesRows_UseTheTemplate_AndWithoutOneSayWhatToDo()
    {
        string dir = ChatFolder.Create();
        string data = Path.Combine(dir, "chat.jsonl");
        File.WriteAllText(data, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello.\"}]}\n");
        var loaded = DatasetLoader.Load(data, HfTokenizer.Load(dir), new DatasetOptions());
        Assert.That(loaded.Examples.Single().LossMask, Is.Not.Null);
        Assert.That(loaded.Examples.Single().LossMask!.Count(m => m), Is.GreaterThan(0));

        var plain = HfTokenizer.Load(TestPaths.Fixture("llama"));
        var ex = Assert.Throws<InvalidDataException>(() => DatasetLoader.Load(data, plain, new DatasetOptions()));
        Assert.That(ex!.Message, Does.Contain("Row 1").And.Contain("no chat template"));
        File.WriteAllText(data, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}\n");
        ex = Assert.Throws<InvalidDataException>(() => DatasetLoader.Load(data, HfTokenizer.Load(dir), new DatasetOptions()));
        Assert.That(ex!.Message, Does.Contain("no assistant message"));
        File.WriteAllText(data, "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image\"}]}]}\n");
        ex = Assert.Throws<InvalidDataException>(() => DatasetLoader.Load(data, HfTokenizer.Load(dir), new DatasetOptions()));
        Assert.That(ex!.Message, Does.Contain("only text content"));
    }

    [Test]
    public void DatasetLoader_PromptResponseWithUseChatTemplate_EqualsTheMessagesRow()
    {
        string dir = ChatFolder.Create();
        var tok = HfTokenizer.Load(dir);
        string a = Path.Combine(dir, "a.jsonl"), b = Path.Combine(dir, "b.jsonl");
        File.WriteAllText(a, "{\"prompt\": \"Hi\", \"response\": \"Hello.\"}\n");
        File.WriteAllText(b, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello.\"}]}\n");
        var viaTemplate = DatasetLoader.Load(a, tok, new DatasetOptions { UseChatTemplate = true }).Examples.Single();
        var messages = DatasetLoader.Load(b, tok, new DatasetOptions()).Examples.Single();
        var plain = DatasetLoader.Load(a, tok, new DatasetOptions()).Examples.Single();
        Assert.That(viaTemplate.InputIds, Is.EqualTo(messages.InputIds));
        Assert.That(viaTemplate.LossMask, Is.EqualTo(messages.LossMask));
        Assert.That(plain.InputIds, Is.Not.EqualTo(messages.InputIds), "without the flag prompt/response rows stay plain text");
    }
}
