using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetLora.LibTorch;
using MLNetLora.ML;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;

namespace MLNetLora.Tests.MLNet;

/// <summary>
/// MapValueToKey → LoraTrainer on the tiny Llama fixture, trained once: evaluation, batched
/// scoring, save/load in a fresh process, adapter export.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class LoraTrainerPipelineTests
{
    private MLContext ml = null!;
    private TransformerChain<LoraClassificationTransformer> model = null!;
    private IDataView test = null!;
    private List<TextRow> testRows = null!;
    private string dir = "";
    private readonly List<string> log = [];

    [OneTimeSetUp]
    public void Train()
    {
        dir = TestPaths.NewTempDir();
        ml = new MLContext(seed: 1);
        ml.Log += (_, e) => { if (e.Source.Contains("LoraTrainer", StringComparison.Ordinal)) lock (log) log.Add(e.Message); };
        var train = ml.Data.LoadFromEnumerable(MLNetTestData.Rows(64, seed: 1));
        testRows = MLNetTestData.Rows(20, seed: 2);
        test = ml.Data.LoadFromEnumerable(testRows);
        model = MLNetTestData.Pipeline(ml, MLNetTestData.Options()).Fit(train);
    }

    [OneTimeTearDown]
    public void Cleanup()
    {
        model?.Dispose();
        Directory.Delete(dir, recursive: true);
    }

    private LoraClassificationTransformer Lora => model.LastTransformer;

    [Test]
    public void Evaluate_SeparableText_AccuracyWellAboveChance()
    {
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        Assert.That(metrics.MacroAccuracy, Is.GreaterThanOrEqualTo(0.9), $"log loss {metrics.LogLoss}");
    }

    [Test]
    public void Fit_Progress_GoesToMLContextLog()
    {
        lock (log) Assert.That(log.Any(l => l.Contains("step 1/", StringComparison.Ordinal)), Is.True, string.Join("\n", log.Take(5)));
    }

    [Test]
    public void Transform_OutputSchema_HasKeyPredictionWithNamesAndProbabilityScores()
    {
        var scored = model.Transform(test);
        var predicted = scored.Schema["PredictedLabel"];
        var names = default(VBuffer<ReadOnlyMemory<char>>);
        predicted.GetKeyValues(ref names);
        var score = scored.GetColumn<float[]>("Score").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(predicted.Type, Is.InstanceOf<KeyDataViewType>());
            Assert.That(names.DenseValues().Select(n => n.ToString()), Is.EqualTo(new[] { "sea", "spam" }));
            Assert.That(score, Has.Count.EqualTo(testRows.Count));
            Assert.That(score.Select(s => s.Sum()), Is.All.EqualTo(1f).Within(1e-4f));
            Assert.That(scored.GetColumn<string>("Text"), Is.EqualTo(testRows.Select(r => r.Text)));
        });
    }

    [Test]
    public void Transform_BatchedScores_EqualOneRowAtATime()
    {
        var batched = model.Transform(test).GetColumn<float[]>("Score").ToList();
        var single = testRows.Take(3).Select(r => Lora.ScoreTexts([r.Text])[0]).ToList();
        for (int i = 0; i < single.Count; i++)
            Assert.That(batched[i], Is.EqualTo(single[i]).Within(1e-4f), $"row {i}");
    }

    [Test]
    public void ModelLoad_FreshProcess_ScoresLikeInProcess()
    {
        string zip = Path.Combine(dir, "model.zip"), input = Path.Combine(dir, "input.tsv"), output = Path.Combine(dir, "output.tsv");
        ml.Model.Save(model, test.Schema, zip);
        File.WriteAllLines(input, new[] { "Label\tText" }.Concat(testRows.Select(r => r.Label + "\t" + r.Text)));

        ScoringHostProcess.RunOk("classify", zip, input, output);

        var expectedScores = model.Transform(test).GetColumn<float[]>("Score").ToList();
        var lines = File.ReadAllLines(output);
        Assert.That(lines, Has.Length.EqualTo(testRows.Count));
        for (int i = 0; i < lines.Length; i++)
        {
            var parts = lines[i].Split('\t');
            var scores = parts[1].Split(',').Select(s => float.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            string expectedLabel = expectedScores[i][0] >= expectedScores[i][1] ? "sea" : "spam";
            Assert.That(parts[0], Is.EqualTo(expectedLabel), $"row {i}");
            Assert.That(scores, Is.EqualTo(expectedScores[i]).Within(1e-4f), $"row {i}");
        }
    }

    [Test]
    public void ExportAdapter_Folder_LoadsWithPeftAdapterIO()
    {
        string adapter = Path.Combine(dir, "adapter");
        Lora.ExportAdapter(adapter);
        using var pretrained = PretrainedModel.Load(TestPaths.Fixture("llama"), Device.Cpu);
        var settings = PeftAdapterIO.Load(pretrained.Model, adapter);
        Assert.Multiple(() =>
        {
            Assert.That(settings.Rank, Is.EqualTo(4));
            Assert.That(settings.TargetModules, Is.EquivalentTo(new[] { "q_proj", "v_proj" }));
            Assert.That(pretrained.Model.ScoreHead?.NumLabels, Is.EqualTo(2));
            Assert.That(pretrained.Model.Adapters, Has.Count.EqualTo(4));
        });
    }
}
