using Microsoft.ML;
using MLNetLora.ML;
using MLNetLora.Training.Defaults;

namespace MLNetLora.Tests.MLNet;

/// <summary>Method = Full through ML.NET: Fit trains every weight, and the zip carries the whole trained model.</summary>
[NonParallelizable]
public sealed class FullTuningPipelineTests
{
    [Test]
    public void FitSaveLoad_FullTuningClassifier_ScoresTheSameAfterLoad()
    {
        var ml = new MLContext(seed: 1);
        var options = MLNetTestData.Options();
        options.Method = FineTuneMethod.Full;
        options.LoraRank = 8; options.LoraAlpha = 16; options.TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
        options.LearningRate = 1e-3;
        options.Epochs = 2;
        options.FreezeEmbeddings = true;
        var rows = MLNetTestData.Rows(32, 3);
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = MLNetTestData.Pipeline(ml, options).Fit(data);
        try
        {
            var lora = model.LastTransformer;
            Assert.That(() => lora.ExportAdapter(TestPaths.NewTempDir()), Throws.InvalidOperationException, "full fine-tuning adds no adapters");
            var scores = ml.Data.CreateEnumerable<Scored>(model.Transform(data), reuseRowObject: false).Take(6).ToList();
            double accuracy = ml.Data.CreateEnumerable<Scored>(model.Transform(data), reuseRowObject: false).Count(s => s.PredictedLabel == s.Label) / 32.0;
            Assert.That(accuracy, Is.GreaterThanOrEqualTo(0.9), "two epochs separate the sea words from the spam words");

            string zip = Path.Combine(TestPaths.NewTempDir(), "full.zip");
            ml.Model.Save(model, data.Schema, zip);
            MLNetLoraCatalog.Register(ml);
            var loaded = ml.Model.Load(zip, out _);
            try
            {
                var again = ml.Data.CreateEnumerable<Scored>(loaded.Transform(data), reuseRowObject: false).Take(6).ToList();
                for (int i = 0; i < scores.Count; i++)
                    Assert.That(again[i].Score, Is.EqualTo(scores[i].Score).Within(1e-5f), $"row {i}");
            }
            finally
            {
                (loaded as IDisposable)?.Dispose();
            }
        }
        finally
        {
            model.LastTransformer.Dispose();
        }
    }

    private sealed class Scored
    {
        public uint Label { get; set; }
        public uint PredictedLabel { get; set; }
        public float[] Score { get; set; } = [];
    }
}
