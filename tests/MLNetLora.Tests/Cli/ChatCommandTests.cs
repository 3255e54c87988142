using MLNetLora.Models.Generation;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Tokenization;
using MLNetLora.Tests.Templating;
using static MLNetLora.Tests.Cli.TrainingTestData;

namespace MLNetLora.Tests.Cli;

/// <summary>Conversations through the CLI: <c>train</c> on messages JSONL and <c>generate --chat</c>.</summary>
public sealed class ChatCommandTests : TempDirFixture
{
    private static string Conversations(string dir, int copies)
    {
        string path = Path.Combine(dir, "chat.jsonl");
        var line = "{\"messages\": [{\"role\": \"system\", \"content\": \"Answer in one word.\"}, {\"role\": \"user\", \"content\": \"Who steers the ship?\"}, " +
            "{\"role\": \"assistant\", \"content\": \"Ahab.\"}]}";
        File.WriteAllLines(path, Enumerable.Repeat(line, copies));
        return path;
    }

    [Test]
    public void TrainOnMessages_ThenGenerateChat_RepliesWithTheLearnedAnswer()
    {
        string model = ChatFolder.Create();
        string output = Path.Combine(Dir, "out");
        var r = CliRun.Run("train", model, "--data", Conversations(Dir, 8), "--output", output, "--max-length", "64",
            "--lr", "1e-2", "--max-steps", "30", "--batch-size", "4", "--lora-dropout", "0");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var losses = TrainRows(Path.Combine(output, "metrics.jsonl")).Select(t => t.GetProperty("loss").GetDouble()).ToList();
        // The fixture's random LM head keeps distributions flat (measured 7.56 → 6.31 nats), so the drop is asserted, not a ratio.
        Assert.That(losses[^1], Is.LessThan(losses[0] - 1.0), "the assistant's answer is learned");

        var g = CliRun.Run("generate", model, "--adapter", Path.Combine(output, "adapter"), "--chat", "--system", "Answer in one word.",
            "--prompt", "Who steers the ship?", "--greedy", "--max-new-tokens", "8");
        Assert.That(g.ExitCode, Is.EqualTo(0), g.ToString());
        Assert.That(g.Out.Trim(), Is.EqualTo("Ahab."), "the reply only, ended by the template's end-of-turn token");
        Assert.That(g.Error, Does.Contain("a stop token"));
    }

    [Test]
    public void GenerateChat_PromptIsTheRenderedConversation()
    {
        string model = ChatFolder.Create();
        IReadOnlyList<int> expected;
        using (var pm = PretrainedModel.Load(model))
        {
            string prompt = pm.Tokenizer!.ChatTemplate!.Render([new ChatMessage("user", "Hi")], addGenerationPrompt: true);
            Assert.That(prompt, Is.EqualTo("<|bos|>user\nHi<|eos|>\n<|bos|>assistant\n"));
            expected = TextGenerator.Generate(pm, [prompt], GenerationOptions.Greedy(6) with { AddSpecialTokens = false })[0].TokenIds;
        }
        var g = CliRun.Run("generate", model, "--chat", "--prompt", "Hi", "--greedy", "--max-new-tokens", "6", "--show-ids");
        Assert.That(g.ExitCode, Is.EqualTo(0), g.ToString());
        string ids = g.Out.Split('\n').Single(l => l.StartsWith("ids: ", StringComparison.Ordinal))[5..].Trim();
        var got = ids.Split(' ').Select(int.Parse).ToList();
        // Generation may stop earlier at the end-of-turn token; up to there the tokens are the same.
        Assert.That(got, Is.EqualTo(expected.Take(got.Count)));
    }

    [Test]
    public void ChatOptions_WithoutTemplateOrChat_ExitTwoWithAdvice()
    {
        var r = CliRun.Run("generate", CliFixture.Llama, "--chat", "--prompt", "Hi");
        Assert.That(r.ExitCode, Is.EqualTo(2));
        Assert.That(r.Error, Does.Contain("no chat template").And.Contain("--chat-template"));
        r = CliRun.Run("generate", CliFixture.Llama, "--system", "x", "--prompt", "Hi");
        Assert.That(r.ExitCode, Is.EqualTo(2));
        Assert.That(r.Error, Does.Contain("add --chat"));
        r = CliRun.Run("train", CliFixture.Llama, "--data", Conversations(Dir, 2), "--output", Path.Combine(Dir, "o"), "--max-steps", "1");
        Assert.That(r.ExitCode, Is.Not.EqualTo(0));
        Assert.That(r.Error, Does.Contain("no chat template"));
        string template = Path.Combine(Dir, "t.jinja");
        File.WriteAllText(template, ChatFolder.Template);
        r = CliRun.Run("train", CliFixture.Llama, "--data", Conversations(Dir, 4), "--output", Path.Combine(Dir, "o2"), "--max-steps", "1",
            "--chat-template", template, "--max-length", "64");
        Assert.That(r.ExitCode, Is.EqualTo(0), "--chat-template supplies the template the model lacks: " + r);
    }
}
