using System.Text.Json;
using MLNetLora.Models.Templating;
using NUnit.Framework;

namespace MLNetLora.Tests.Templating;

/// <summary>
/// Real chat templates (Llama 3/3.1/3.2, Mistral, Phi-3/3.5, Qwen2.5/3, SmolLM2) rendered over six
/// conversations, with and without the generation prompt, against @huggingface/jinja's renderings
/// (tests/fixtures/chat-templates/make_reference.mjs made them).
/// </summary>
public sealed class ChatTemplateParityTests
{
    private static readonly string Folder = Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "chat-templates");

    public static IEnumerable<TestCaseData> Cases()
    {
        using var templates = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "templates.json")));
        using var conversations = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "conversations.json")));
        foreach (string line in File.ReadLines(Path.Combine(Folder, "reference.jsonl")))
        {
            using var row = JsonDocument.Parse(line);
            var r = row.RootElement;
            string name = r.GetProperty("template").GetString()!, conv = r.GetProperty("case").GetString()!;
            bool gen = r.GetProperty("add_generation_prompt").GetBoolean();
            var t = templates.RootElement.GetProperty(name);
            yield return new TestCaseData(
                t.GetProperty("chat_template").GetString()!,
                t.GetProperty("bos_token").GetString() ?? "",
                t.GetProperty("eos_token").GetString() ?? "",
                conversations.RootElement.GetProperty(conv).GetRawText(),
                gen,
                r.TryGetProperty("text", out var text) ? text.GetString() : null,
                r.TryGetProperty("error", out var error) ? error.GetString() : null)
                .SetName($"Render_{name.Replace('.', '_').Replace(':', '_')}_{conv}_{(gen ? "prompt" : "full")}");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Render_MatchesHuggingFaceJinja(string source, string bos, string eos, string messagesJson, bool addGenerationPrompt, string? expected, string? expectedError)
    {
        var template = JinjaTemplate.Parse(source);
        using var messages = JsonDocument.Parse(messagesJson);
        var context = new Dictionary<string, object?>
        {
            ["messages"] = JinjaTemplate.FromJson(messages.RootElement),
            ["add_generation_prompt"] = addGenerationPrompt,
            ["bos_token"] = bos,
            ["eos_token"] = eos,
            ["date_string"] = "02 Dec 2026",
        };
        if (expectedError is not null)
        {
            var ex = Assert.Throws<TemplateRaisedException>(() => template.Render(context));
            Assert.That(ex!.Message, Is.EqualTo(expectedError));
            return;
        }
        Assert.That(template.Render(context), Is.EqualTo(expected));
    }
}
