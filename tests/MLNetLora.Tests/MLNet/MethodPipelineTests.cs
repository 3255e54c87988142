using Microsoft.ML;
using MLNetLora.ML;
using MLNetLora.Training.Defaults;

namespace MLNetLora.Tests.MLNet;

/// <summary>Methods beyond plain LoRA through ML.NET: full fine-tuning (the zip carries the whole trained model) DoRA adapters, and QLoRA (the base is quantized again at load).</summary>
[NonParallelizable]
public sealed class MethodPipelineTests
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
            // The exported folder is a sequence classifier transformers can load, with the class names.
            string exported = TestPaths.NewTempDir();
            lora.ExportMerged(exported);
            string config = File.ReadAllText(Path.Combine(exported, "config.json"));
            Assert.That(config, Does.Contain("LlamaForSequenceClassification").And.Contain("\"0\": \"sea\"").And.Contain("\"spam\": 1"));
            using (var st = MLNetLora.Models.Checkpoints.SafeTensorsFile.Open(Path.Combine(exported, "model.safetensors")))
                Assert.That(st.Contains("score.weight"), Is.True);
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

    [TestCase(false)]
    [TestCase(true)]
    public void FitSaveLoad_DoraOrQLoraClassifier_ScoresTheSameAfterLoad(bool qlora)
    {
        var ml = new MLContext(seed: 1);
        var options = MLNetTestData.Options();
        options.UseDora = !qlora;
        if (qlora) options.Method = FineTuneMethod.QLora;
        options.Epochs = 2;
        var data = ml.Data.LoadFromEnumerable(MLNetTestData.Rows(16, 5));
        var model = MLNetTestData.Pipeline(ml, options).Fit(data);
        try
        {
            string adapter = TestPaths.NewTempDir();
            model.LastTransformer.ExportAdapter(adapter);
            Assert.That(File.ReadAllText(Path.Combine(adapter, "adapter_config.json")), qlora ? Does.Contain("\"use_dora\": false") : Does.Contain("\"use_dora\": true"));
            var scores = ml.Data.CreateEnumerable<Scored>(model.Transform(data), reuseRowObject: false).Select(s => s.Score).ToList();
            string zip = Path.Combine(TestPaths.NewTempDir(), "adapter.zip");
            ml.Model.Save(model, data.Schema, zip);
            MLNetLoraCatalog.Register(ml);
            var loaded = ml.Model.Load(zip, out _);
            try
            {
                var again = ml.Data.CreateEnumerable<Scored>(loaded.Transform(data), reuseRowObject: false).Select(s => s.Score).ToList();
                for (int i = 0; i < scores.Count; i++) Assert.That(again[i], Is.EqualTo(scores[i]).Within(1e-5f), $"row {i}");
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
