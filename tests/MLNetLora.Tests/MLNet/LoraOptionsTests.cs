using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetLora.Cli;
using MLNetLora.Cli.Commands;
using MLNetLora.ML;
using MLNetLora.Training.Engine;

namespace MLNetLora.Tests.MLNet;

/// <summary>The ML.NET options reach every engine setting with the CLI's defaults and follow ML.NET's conventions.</summary>
[NonParallelizable]
public sealed class LoraOptionsTests : TempDirFixture
{
    // TrainerOptions properties the ML.NET options deliberately do not set, and why.
    private static readonly Dictionary<string, string> NotAnOption = new()
    {
        ["Task"] = "chosen by the options type (classification or generation)",
        ["ModelDType"] = "derived from Precision and Method",
        ["EvalSplit"] = "ML.NET splits data itself (mlContext.Data.TrainTestSplit); ValidationSet takes the result",
        ["MetricsFile"] = "metrics.jsonl inside OutputDirectory",
        ["BaseModelNameOrPath"] = "ModelPath",
        ["Log"] = "mlContext.Log",
        ["Lora"] = "LoraRank, LoraAlpha, LoraDropout, TargetModules, UseRsLora",
        ["Adam"] = "AdamBeta1, AdamBeta2, AdamEpsilon",
        ["Packing"] = "LoraGenerationOptions.Packing (generation only)",
    };

    [Test]
    public void Options_EveryTrainerOption_HasAFieldOrAStatedReason()
    {
        var fields = typeof(LoraTrainingOptions).GetFields(BindingFlags.Public | BindingFlags.Instance).Select(f => f.Name).ToHashSet();
        var missing = typeof(TrainerOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => p.Name).Where(n => !fields.Contains(n) && !NotAnOption.ContainsKey(n)).ToList();
        Assert.That(missing, Is.Empty, "a TrainerOptions property no ML.NET option sets");
        Assert.That(typeof(LoraGenerationOptions).GetField("Packing"), Is.Not.Null);
    }

    [Test]
    public void ToTrainerOptions_Defaults_EqualTheCliDefaults()
    {
        string data = Path.Combine(Dir, "d.jsonl");
        File.WriteAllText(data, "{\"text\":\"a\"}\n");
        var args = ArgumentParser.Parse("train", new TrainCommand().Syntax, [TestPaths.Fixture("llama"), "--data", data, "--output", Path.Combine(Dir, "out")]);
        var cli = TrainSettings.Parse(args, TrainingArguments.Parse(args)).Trainer;
        var ml = new LoraGenerationOptions { ModelPath = TestPaths.Fixture("llama") }.ToTrainerOptions();
        foreach (var p in typeof(TrainerOptions).GetProperties())
        {
            if (p.Name is "Log" or "Lora" or "MetricsFile" or "OutputDirectory" or "BaseModelNameOrPath" or "CheckpointEvery") continue;
            Assert.That(p.GetValue(ml), Is.EqualTo(p.GetValue(cli)), p.Name);
        }
        Assert.That((ml.Lora.Rank, ml.Lora.Alpha, ml.Lora.Dropout, ml.Lora.UseRsLora), Is.EqualTo((cli.Lora.Rank, cli.Lora.Alpha, cli.Lora.Dropout, cli.Lora.UseRsLora)));
        Assert.That(ml.Lora.TargetModules, Is.EqualTo(cli.Lora.TargetModules));
    }

    [Test]
    public void ToTrainerOptions_EveryField_ReachesTheTrainerOptions()
    {
        var o = new LoraClassificationOptions
        {
            ModelPath = "m", MaxSteps = 7, WarmupSteps = 2, GradientAccumulation = 3, WeightDecay = 0.1, MaxGradNorm = 0.5, UseRsLora = true,
            LoraPlusRatio = 16, GradientCheckpointing = true, EvalEvery = 5, EarlyStoppingPatience = 2, CheckpointEvery = 4, KeepCheckpoints = 2,
            ResumeFrom = "ckpt", OverrideRateOnResume = true, Precision = LibTorch.DType.BFloat16, AdamBeta2 = 0.95, Shuffle = false,
            Watchdog = new MLNetLora.Training.Watchdog.WatchdogOptions { Policy = MLNetLora.Training.Watchdog.WatchdogPolicy.Stop }, HeadRateMultiplier = 2,
        };
        var t = o.ToTrainerOptions();
        Assert.Multiple(() =>
        {
            Assert.That((t.MaxSteps, t.WarmupSteps, t.GradientAccumulation, t.WeightDecay, t.MaxGradNorm), Is.EqualTo(((long?)7, (long?)2, 3, 0.1, 0.5)));
            Assert.That((t.Lora.UseRsLora, t.LoraPlusRatio, t.GradientCheckpointing, t.EvalEvery, t.EarlyStoppingPatience), Is.EqualTo((true, 16.0, true, 5, 2)));
            Assert.That((t.CheckpointEvery, t.KeepCheckpoints, t.ResumeFrom, t.OverrideRateOnResume), Is.EqualTo((4, (int?)2, "ckpt", true)));
            Assert.That((t.Precision, t.Adam.Beta2, t.Shuffle, t.Watchdog.Policy, t.HeadRateMultiplier),
                Is.EqualTo(((LibTorch.DType?)LibTorch.DType.BFloat16, 0.95, false, MLNetLora.Training.Watchdog.WatchdogPolicy.Stop, 2.0)));
            Assert.That(t.Task, Is.EqualTo(TrainingTask.Classification));
        });
    }

    [Test]
    public void Estimator_BadOption_NamesTheOptionsField()
    {
        var ml = new MLContext(seed: 1);
        var e = Assert.Throws<ArgumentException>(() => ml.Transforms.LoraTrainer(new LoraGenerationOptions { ModelPath = TestPaths.Fixture("llama"), LoraRank = 0 }));
        Assert.That(e!.Message, Does.StartWith("LoraGenerationOptions.LoraRank"));
        e = Assert.Throws<ArgumentException>(() => ml.Transforms.LoraTrainer(new LoraGenerationOptions { ModelPath = TestPaths.Fixture("llama"), Packing = true }));
        Assert.That(e!.Message, Does.Contain("ResponseColumnName = null"));
        e = Assert.Throws<ArgumentException>(() => ml.Transforms.LoraTrainer(new LoraGenerationOptions { ModelPath = TestPaths.Fixture("llama"), AdamBeta1 = 1.5 }));
        Assert.That(e!.Message, Does.StartWith("LoraGenerationOptions.AdamBeta1/AdamBeta2/AdamEpsilon needs betas"), "the fields that exist, not the training layer's Adam");
    }

    [Test]
    public void Estimator_GpuRequestedWithoutCudaAndNoFallback_SaysWhatToSet()
    {
        if (LibTorch.Torch.CudaAvailable) Assert.Ignore("CUDA is available here");
        var ml = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = false };
        var e = Assert.Throws<InvalidOperationException>(() => ml.Transforms.LoraTrainer(MLNetTestData.Options()));
        Assert.That(e!.Message, Does.Contain("GpuDeviceId is 0").And.Contain("FallbackToCpu"));
    }

    [Test]
    public void Fit_GpuRequestedWithFallback_TrainsOnCpuAndWarns()
    {
        if (LibTorch.Torch.CudaAvailable) Assert.Ignore("CUDA is available here");
        var ml = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = true };
        var warnings = new List<string>();
        ml.Log += (_, e) => { if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning) lock (warnings) warnings.Add(e.RawMessage); };
        var o = MLNetTestData.Options();
        o.MaxSteps = 1;
        using var model = MLNetTestData.Pipeline(ml, o).Fit(ml.Data.LoadFromEnumerable(MLNetTestData.Rows(8, seed: 1)));
        Assert.That(warnings, Has.Some.Contains("using the CPU"));
    }

    [Test]
    public void Fit_EmptyData_SaysItIsEmpty()
    {
        var ml = new MLContext(seed: 1);
        var e = Assert.Throws<ArgumentException>(() => ml.Transforms.LoraTrainer(GenerationTestData.Options()).Fit(ml.Data.LoadFromEnumerable(new List<InstructionRow>())));
        Assert.That(e!.Message, Does.Contain("empty (0 rows)"));
    }

    private sealed class FloatLabelRow
    {
        public float Label { get; set; }
        public string Text { get; set; } = "";
    }

    [Test]
    public void Fit_ValidationSetWithTextLabels_IsMappedByTheClassNames_NumericLabelsSayHowToMap()
    {
        var ml = new MLContext(seed: 1);
        var o = MLNetTestData.Options();
        o.MaxSteps = 2;
        o.ValidationSet = ml.Data.LoadFromEnumerable(MLNetTestData.Rows(6, seed: 5)); // raw: Label is text
        var log = new List<string>();
        ml.Log += (_, e) => { if (e.Source.Contains("LoraTrainer", StringComparison.Ordinal)) lock (log) log.Add(e.RawMessage); };
        using (MLNetTestData.Pipeline(ml, o).Fit(ml.Data.LoadFromEnumerable(MLNetTestData.Rows(16, seed: 1)))) { }
        Assert.That(log, Has.Some.Contains("validation loss"));

        o.ValidationSet = ml.Data.LoadFromEnumerable(new[] { new FloatLabelRow { Label = 1, Text = "sea" } });
        var e = Assert.Throws<ArgumentException>(() => MLNetTestData.Pipeline(ml, o).Fit(ml.Data.LoadFromEnumerable(MLNetTestData.Rows(16, seed: 1))));
        Assert.That(e!.Message, Does.Contain("ValidationSet").And.Contain("MapValueToKey"));
    }

    [Test]
    public void Fit_OutputDirectoryWithAnEarlierRun_RefusesBeforeLoadingTheModel()
    {
        var ml = new MLContext(seed: 1);
        var o = GenerationTestData.Options();
        o.MaxSteps = 2;
        o.OutputDirectory = Path.Combine(Dir, "run");
        using (ml.Transforms.LoraTrainer(o).Fit(GenerationTestData.Data(ml, 1))) { }
        Assert.That(Directory.Exists(Path.Combine(o.OutputDirectory, "adapter")), Is.True);
        o.ModelPath = Directory.CreateDirectory(Path.Combine(Dir, "empty-model")).FullName; // the refusal comes before anything of the model is read
        var e = Assert.Throws<ArgumentException>(() => ml.Transforms.LoraTrainer(o).Fit(GenerationTestData.Data(ml, 1)));
        Assert.That(e!.Message, Does.StartWith("LoraGenerationOptions.OutputDirectory").And.Contain("earlier run").And.Contain("ResumeFrom"));
    }

    [Test]
    public void Fit_CancelledThenResumed_EndsWithTheUninterruptedRunsModel()
    {
        var ml = new MLContext(seed: 1);
        LoraGenerationOptions Options(string run)
        {
            var o = GenerationTestData.Options();
            o.Epochs = 2;
            o.OutputDirectory = Path.Combine(Dir, run);
            o.CheckpointEvery = 4;
            return o;
        }
        var data = GenerationTestData.Data(ml, 4);
        using var whole = ml.Transforms.LoraTrainer(Options("whole")).Fit(data);
        var expected = whole.Evaluate(data);

        using var cts = new CancellationTokenSource();
        var first = Options("parts");
        first.CancellationToken = cts.Token;
        first.LogEvery = 1;
        void Cancel(object? s, Microsoft.ML.LoggingEventArgs e) { if (e.RawMessage.StartsWith("step 5/", StringComparison.Ordinal)) cts.Cancel(); }
        ml.Log += Cancel;
        var stop = Assert.Throws<OperationCanceledException>(() => ml.Transforms.LoraTrainer(first).Fit(data));
        ml.Log -= Cancel;
        Assert.That(stop!.Message, Does.Contain("ResumeFrom"));

        var second = Options("parts");
        second.ResumeFrom = second.OutputDirectory;
        using var resumed = ml.Transforms.LoraTrainer(second).Fit(data);
        Assert.That(resumed.Evaluate(data).Loss, Is.EqualTo(expected.Loss).Within(1e-6), "resume continues on the same curve");
    }

    [Test]
    public void PredictionEngine_DisposedWithDefaultOptions_ModelSaysWhy()
    {
        var ml = new MLContext(seed: 1);
        var o = GenerationTestData.Options();
        o.MaxSteps = 1;
        var model = ml.Transforms.LoraTrainer(o).Fit(GenerationTestData.Data(ml, 1));
        ml.Model.CreatePredictionEngine<PromptRow, GeneratedRow>(model).Dispose();
        var e = Assert.Throws<ObjectDisposedException>(() => model.Generate(["x"]));
        Assert.That(e!.Message, Does.Contain("OwnsTransformer = false"));
    }

    public sealed class PairRow
    {
        public string Label { get; set; } = "";
        public string Text { get; set; } = "";
        public string Hypothesis { get; set; } = "";
    }

    [Test]
    public void Fit_Sentence2Column_ScoresThePairAsTheTokenizersPairTemplateJoinsIt()
    {
        var tok = MLNetLora.Models.Tokenization.HfTokenizer.Load(TestPaths.Fixture("llama"));
        // The fixture's tokenizer.json pair template is "<|bos|> $A <|bos|> $B", as Llama's.
        Assert.That(tok.EncodePair("whale sea", "ship"), Is.EqualTo(tok.Encode("whale sea").Concat(tok.Encode("ship"))));
        var ml = new MLContext(seed: 1);
        var rows = MLNetTestData.Rows(16, seed: 1).Select((r, i) => new PairRow { Label = r.Label, Text = r.Text, Hypothesis = i % 3 == 0 ? "ocean" : "cash" }).ToList();
        var o = MLNetTestData.Options();
        o.MaxSteps = 2;
        o.Sentence2ColumnName = "Hypothesis";
        using var model = MLNetTestData.Pipeline(ml, o).Fit(ml.Data.LoadFromEnumerable(rows));
        var probe = new[] { new PairRow { Text = "whale sea", Hypothesis = "ocean" }, new PairRow { Text = "whale sea", Hypothesis = "free prize cash" } };
        var scores = model.LastTransformer.Transform(ml.Data.LoadFromEnumerable(probe)).GetColumn<float[]>("Score").ToList();
        Assert.That(scores[0], Is.Not.EqualTo(scores[1]), "the second sentence takes part in the score");

        var single = ml.Data.LoadFromEnumerable(MLNetTestData.Rows(4, seed: 1));
        var e = Assert.Throws<ArgumentException>(() => MLNetTestData.Pipeline(ml, o).Fit(single));
        Assert.That(e!.Message, Does.Contain("'Hypothesis'").And.Contain("Sentence2ColumnName"));
    }

    [Test]
    public void Estimator_ModelPathMissingOrAFile_NamesTheField()
    {
        var ml = new MLContext(seed: 1);
        var e = Assert.Throws<ArgumentException>(() => ml.Transforms.LoraTrainer(new LoraGenerationOptions { ModelPath = Path.Combine(Dir, "nope") }));
        Assert.That(e!.Message, Does.StartWith("LoraGenerationOptions.ModelPath").And.Contain("does not exist"));
        e = Assert.Throws<ArgumentException>(() => ml.Transforms.LoraTrainer(new LoraGenerationOptions { ModelPath = Path.Combine(TestPaths.Fixture("llama"), "config.json") }));
        Assert.That(e!.Message, Does.Contain("is a file"));
    }

    [Test]
    public void Estimator_ExplicitCudaWithoutCuda_ThrowsAtCreation()
    {
        if (LibTorch.Torch.CudaAvailable) Assert.Ignore("CUDA is available here");
        var ml = new MLContext(seed: 1);
        var o = GenerationTestData.Options();
        o.Device = "cuda";
        var e = Assert.Throws<InvalidOperationException>(() => ml.Transforms.LoraTrainer(o));
        Assert.That(e!.Message, Does.StartWith("LoraGenerationOptions.Device is 'cuda'"));
    }

    [Test]
    public void Fit_EmptyDataThroughMapValueToKey_SaysItIsEmpty()
    {
        var ml = new MLContext(seed: 1);
        var e = Assert.Throws<ArgumentException>(() => MLNetTestData.Pipeline(ml, MLNetTestData.Options()).Fit(ml.Data.LoadFromEnumerable(new List<TextRow>())));
        Assert.That(e!.Message, Does.Contain("empty (0 rows)"));
    }

    [Test]
    public void Transform_GeneratorOnDataWithoutThePromptColumn_NamesPromptColumnName()
    {
        var ml = new MLContext(seed: 1);
        var o = GenerationTestData.Options();
        o.MaxSteps = 1;
        using var model = ml.Transforms.LoraTrainer(o).Fit(GenerationTestData.Data(ml, 1));
        var e = Assert.Throws<ArgumentException>(() => model.Transform(ml.Data.LoadFromEnumerable(MLNetTestData.Rows(2, seed: 1))));
        Assert.That(e!.Message, Does.Contain("'Prompt'").And.Contain("Set PromptColumnName"));
    }
}
