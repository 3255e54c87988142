using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetLora.ML;
using MLNetLora.Tests.Templating;

namespace MLNetLora.Tests.MLNet;

/// <summary>LoraGenerationOptions.UseChatTemplate: prompt/response rows trained and prompted through the model's chat template.</summary>
[NonParallelizable]
public sealed class ChatGenerationTests
{
    [Test]
    public void Fit_UseChatTemplate_GeneratesLearnedRepliesAndKeepsTheTemplateAcrossSaveLoad()
    {
        string model = ChatFolder.Create();
        var ml = new MLContext(seed: 1);
        var options = GenerationTestData.Options();
        options.ModelPath = model;
        options.UseChatTemplate = true;
        options.MaxLength = 48;
        options.Epochs = 15;
        var pairs = GenerationTestData.Pairs.Select(p => new InstructionRow { Prompt = p.Prompt.Replace("\nAnswer:", "", StringComparison.Ordinal), Response = p.Response.Trim() }).ToArray();
        using var trained = ml.Transforms.LoraTrainer(options).Fit(ml.Data.LoadFromEnumerable(Enumerable.Repeat(pairs, 8).SelectMany(x => x)));
        Assert.That(trained.ChatTemplate, Is.Not.Null);
        var prompts = ml.Data.LoadFromEnumerable(pairs.Select(p => new PromptRow { Prompt = p.Prompt }));
        var generated = trained.Transform(prompts).GetColumn<string>("Generated").ToList();
        Assert.That(generated, Is.EqualTo(pairs.Select(p => p.Response)), "each reply ends at the template's end-of-turn token");

        string zip = Path.Combine(TestPaths.NewTempDir(), "chat.zip");
        ml.Model.Save(trained, prompts.Schema, zip);
        MLNetLoraCatalog.Register(ml);
        var loaded = ml.Model.Load(zip, out _);
        try
        {
            Assert.That(loaded.Transform(prompts).GetColumn<string>("Generated").ToList(), Is.EqualTo(generated));
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    [Test]
    public void Options_UseChatTemplateWithoutResponsesOrTemplate_AreRefusedByName()
    {
        var ml = new MLContext();
        var options = GenerationTestData.Options();
        options.UseChatTemplate = true;
        options.ResponseColumnName = null;
        var ex = Assert.Throws<ArgumentException>(() => ml.Transforms.LoraTrainer(options));
        Assert.That(ex!.Message, Does.Contain("UseChatTemplate").And.Contain("ResponseColumnName"));
        options = GenerationTestData.Options();
        options.UseChatTemplate = true;
        ex = Assert.Throws<ArgumentException>(() => ml.Transforms.LoraTrainer(options).Fit(GenerationTestData.Data(ml, 1)));
        Assert.That(ex!.Message, Does.Contain("no chat template").And.Contain("ChatTemplateFile"));
    }
}
