using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetLora.LibTorch;
using MLNetLora.ML;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;

namespace MLNetLora.Tests.MLNet;

/// <summary>
/// The Model Builder shape for classification: MapValueToKey → LoraTrainer → MapKeyToValue, a
/// PredictionEngine over ModelInput/ModelOutput classes in-process and in a fresh process, and the
/// adapter exported from the pipeline's model although another transformer follows the LoRA one.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ClassificationPredictionEngineTests
{
    public sealed class ModelOutput
    {
        public string PredictedLabel { get; set; } = "";
        public float[] Score { get; set; } = [];
    }

    // ML.NET's engines dispose their model by default; these share the fixture's model.
    private static readonly PredictionEngineOptions Shared = new() { OwnsTransformer = false };

    private MLContext ml = null!;
    private TransformerChain<Microsoft.ML.Transforms.KeyToValueMappingTransformer> model = null!;
    private List<TextRow> testRows = null!;
    private string dir = "";

    [OneTimeSetUp]
    public void Train()
    {
        dir = TestPaths.NewTempDir();
        ml = new MLContext(seed: 1);
        var options = MLNetTestData.Options();
        options.Epochs = 2;
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoraTrainer(options))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        model = pipeline.Fit(ml.Data.LoadFromEnumerable(MLNetTestData.Rows(32, seed: 1)));
        testRows = MLNetTestData.Rows(8, seed: 2);
    }

    [OneTimeTearDown]
    public void Cleanup()
    {
        model?.Dispose();
        Directory.Delete(dir, recursive: true);
    }

    [Test]
    public void PredictionEngine_InProcess_EqualsBatchedTransform()
    {
        var scored = model.Transform(ml.Data.LoadFromEnumerable(testRows));
        var labels = scored.GetColumn<string>("PredictedLabel").ToList();
        var scores = scored.GetColumn<float[]>("Score").ToList();
        using var engine = ml.Model.CreatePredictionEngine<TextRow, ModelOutput>(model, Shared);
        for (int i = 0; i < testRows.Count; i++)
        {
            var o = engine.Predict(testRows[i]);
            Assert.That(o.PredictedLabel, Is.EqualTo(labels[i]), $"row {i}");
            Assert.That(o.Score, Is.EqualTo(scores[i]).Within(1e-5f), $"row {i}");
        }
    }

    [Test]
    public void PredictionEngine_SameTextTwiceThenAnother_EachCallScoresItsOwnRow()
    {
        using var engine = ml.Model.CreatePredictionEngine<TextRow, ModelOutput>(model, Shared);
        var lora = model.GetLoraTransformer() as LoraClassificationTransformer;
        var expected = lora!.ScoreTexts([testRows[0].Text, testRows[1].Text]);
        var a = engine.Predict(testRows[0]).Score;
        var b = engine.Predict(testRows[1]).Score;
        var a2 = engine.Predict(testRows[0]).Score;
        Assert.That(a, Is.EqualTo(expected[0]).Within(1e-5f));
        Assert.That(b, Is.EqualTo(expected[1]).Within(1e-5f));
        Assert.That(a2, Is.EqualTo(a));
    }

    [Test]
    public void PredictionEngine_FreshProcessAfterSave_ScoresLikeInProcess()
    {
        string zip = Path.Combine(dir, "model.zip"), input = Path.Combine(dir, "input.tsv"), output = Path.Combine(dir, "output.tsv");
        ml.Model.Save(model, ml.Data.LoadFromEnumerable(testRows).Schema, zip);
        File.WriteAllLines(input, new[] { "Label\tText" }.Concat(testRows.Select(r => r.Label + "\t" + r.Text)));
        ScoringHostProcess.RunOk("classify-engine", zip, input, output);
        using var engine = ml.Model.CreatePredictionEngine<TextRow, ModelOutput>(model, Shared);
        var lines = File.ReadAllLines(output);
        Assert.That(lines, Has.Length.EqualTo(testRows.Count));
        for (int i = 0; i < lines.Length; i++)
        {
            var expected = engine.Predict(testRows[i]);
            var parts = lines[i].Split('\t');
            Assert.That(parts[0], Is.EqualTo(expected.PredictedLabel), $"row {i}");
            Assert.That(parts[1].Split(',').Select(s => float.Parse(s, CultureInfo.InvariantCulture)), Is.EqualTo(expected.Score).Within(1e-5f), $"row {i}");
        }
    }

    [Test]
    public void ModelLoad_FreshProcessWithoutRegister_NamesRegister()
    {
        string zip = Path.Combine(dir, "unregistered.zip");
        ml.Model.Save(model, ml.Data.LoadFromEnumerable(testRows).Schema, zip);
        var (code, output) = ScoringHostProcess.Run("load-unregistered", zip);
        Assert.That(code, Is.EqualTo(3), output);
        Assert.That(output, Does.Contain("MLNetLoraCatalog.Register"));
    }

    [Test]
    public void ExportAdapter_PipelineEndingInMapKeyToValue_FindsTheLoraTransformer()
    {
        string adapter = Path.Combine(dir, "adapter");
        model.ExportAdapter(adapter);
        using var pretrained = PretrainedModel.Load(TestPaths.Fixture("llama"), Device.Cpu);
        var settings = PeftAdapterIO.Load(pretrained.Model, adapter);
        Assert.That(settings.Rank, Is.EqualTo(4));
        Assert.That(pretrained.Model.ScoreHead?.NumLabels, Is.EqualTo(2));
    }

    [Test]
    public void GetLoraTransformer_ModelWithoutOne_SaysHowToGetOne()
    {
        var plain = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(testRows));
        var e = Assert.Throws<ArgumentException>(() => plain.GetLoraTransformer());
        Assert.That(e!.Message, Does.Contain("LoraTrainer"));
    }
}
