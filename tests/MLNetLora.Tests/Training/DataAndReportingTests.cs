using MLNetLora.Training.Schedules;
using System.IO.Compression;
using MLNetLora.Models.Tokenization;
using MLNetLora.Models.Transformer;
using MLNetLora.Tests.Models;
using MLNetLora.Training.Data;
using MLNetLora.Training.Engine;
using MLNetLora.Training.LrFinder;
using MLNetLora.Training.Reporting;

namespace MLNetLora.Tests.Training;

public class DataAndReportingTests
{
    private static HfTokenizer Tok() => HfTokenizer.Load(TestPaths.Fixture("llama"));

    private static string Write(string name, string content)
    {
        string path = Path.Combine(TestPaths.NewTempDir(), name);
        File.WriteAllText(path, content);
        return path;
    }

    [Test]
    public void CsvReader_HandlesQuotesSeparatorsAndNewlines()
    {
        var rows = CsvReader.Parse(new StringReader("a,b\n\"x, y\",\"say \"\"hi\"\"\nthere\"\r\n1,2"), ',').ToList();
        Assert.That(rows, Has.Count.EqualTo(3));
        Assert.That(rows[1], Is.EqualTo(new[] { "x, y", "say \"hi\"\nthere" }));
        Assert.That(rows[2], Is.EqualTo(new[] { "1", "2" }));
    }

    [Test]
    public void Load_PlainText_CutsIntoBlocks()
    {
        var tok = Tok();
        string text = string.Concat(Enumerable.Repeat("Call me Ishmael. Some years ago, never mind how long. ", 20));
        var d = DatasetLoader.Load(Write("a.txt", text), tok, new DatasetOptions { MaxLength = 32 });
        var all = tok.Encode(text, true);
        Assert.That(d.Examples.SelectMany(e => e.InputIds), Is.EqualTo(all.Take(d.Examples.Sum(e => e.InputIds.Length))));
        Assert.That(d.Examples.Take(d.Examples.Count - 1), Has.All.Matches<TrainingExample>(e => e.InputIds.Length == 32));
    }

    [Test]
    public void Load_JsonlPromptResponse_MasksPromptAndAppendsEos()
    {
        var tok = Tok();
        var d = DatasetLoader.Load(Write("a.jsonl", "{\"prompt\":\"Who is the captain?\",\"response\":\" Ahab.\"}\n"), tok, new DatasetOptions());
        var e = d.Examples.Single();
        var prompt = tok.Encode("Who is the captain?", true);
        Assert.That(e.PromptLength, Is.EqualTo(prompt.Length));
        Assert.That(e.InputIds[^1], Is.EqualTo(tok.EosId));
        var batch = Collator.Collate([e], 2, 64);
        Assert.That(batch.Labels.Take(prompt.Length), Is.All.EqualTo(Collator.Ignore), "prompt tokens get no loss");
        Assert.That(batch.Labels[prompt.Length], Is.EqualTo(e.InputIds[prompt.Length]));
    }

    [Test]
    public void Load_ClassificationCsvAndGzJsonl_MapLabelsToSortedClasses()
    {
        var tok = Tok();
        var csv = DatasetLoader.Load(Write("a.csv", "text,label\n\"hello, world\",spam\nthe whale,ham\n"), tok, new DatasetOptions { Classification = true });
        Assert.That(csv.ClassNames, Is.EqualTo(new[] { "ham", "spam" }));
        Assert.That(csv.Examples.Select(e => e.ClassLabel), Is.EqualTo(new int?[] { 1, 0 }));
        string gz = Path.Combine(TestPaths.NewTempDir(), "b.jsonl.gz");
        using (var f = File.Create(gz))
        using (var z = new GZipStream(f, CompressionLevel.Fastest))
        using (var w = new StreamWriter(z))
            w.Write("{\"subject\":\"Re: offer\",\"body\":\"cheap\",\"label\":\"spam\"}\n{\"subject\":\"lunch\",\"body\":\"at noon\",\"label\":\"ham\"}\n");
        var j = DatasetLoader.Load(gz, tok, new DatasetOptions { Classification = true, TextFields = ["subject", "body"] });
        Assert.That(j.Examples[0].InputIds, Is.EqualTo(tok.Encode("Re: offer\ncheap", true)));
        Assert.That(j.Examples.Select(e => e.ClassLabel), Is.EqualTo(new int?[] { 1, 0 }));
    }

    [Test]
    public void Load_PreTokenized_KeepsIds()
    {
        var d = DatasetLoader.Load(Write("a.jsonl", "{\"input_ids\":[5,6,7]}\n"), Tok(), new DatasetOptions());
        Assert.That(d.Examples.Single().InputIds, Is.EqualTo(new[] { 5, 6, 7 }));
    }

    [Test]
    public void Load_BadInput_SaysWhatIsWrong()
    {
        var tok = Tok();
        var ex = Assert.Throws<InvalidDataException>(() => DatasetLoader.Load(Write("a.jsonl", "{\"body\":\"x\"}\n"), tok, new DatasetOptions()));
        Assert.That(ex!.Message, Does.Contain("no 'text' field").And.Contain("TextFields"));
        ex = Assert.Throws<InvalidDataException>(() => DatasetLoader.Load(Write("a.jsonl", "not json\n"), tok, new DatasetOptions()));
        Assert.That(ex!.Message, Does.Contain("Line 1"));
        ex = Assert.Throws<InvalidDataException>(() => DatasetLoader.Load(Write("a.parquet", "x"), tok, new DatasetOptions()));
        Assert.That(ex!.Message, Does.Contain(".jsonl"));
        Assert.Throws<FileNotFoundException>(() => DatasetLoader.Load("/nonexistent.jsonl", tok, new DatasetOptions()));
    }

    [Test]
    public void FindLearningRate_SuggestsRate_AndRestoresWeights()
    {
        using var model = TinyModels.Create(Architecture.Llama, seed: 12);
        using var trainer = new LoraTrainer(model, new TrainerOptions { BatchSize = 4, MaxLength = 16, Lora = new() { Rank = 2, Alpha = 4 } });
        var g = new MLNetLora.LibTorch.Generator(1);
        var data = Enumerable.Range(0, 16).Select(_ => { int s = (int)g.NextInt64(37); return new TrainingExample(Enumerable.Range(s, 12).Select(i => i % 37).ToArray()); }).ToList();
        var before = model.Adapters.Values.SelectMany(a => a.A.ToArray<double>().Concat(a.B.ToArray<double>())).ToArray();
        var result = trainer.FindLearningRate(data, new LrFinderOptions { MinRate = 1e-5, MaxRate = 10, Steps = 40 });
        var after = model.Adapters.Values.SelectMany(a => a.A.ToArray<double>().Concat(a.B.ToArray<double>())).ToArray();
        Assert.That(after, Is.EqualTo(before), "weights restored after the sweep");
        Assert.That(trainer.GlobalStep, Is.EqualTo(0));
        Assert.That(result.Curve, Is.Not.Empty);
        Assert.That(result.Curve[0].Rate, Is.EqualTo(1e-5).Within(1e-12));
        Assert.That(result.SuggestedRate, Is.Not.Null.And.LessThanOrEqualTo(LrFinderOptions.For(MLNetLora.Training.Defaults.FineTuneMethod.Lora).MaxSuggestedRate));
        string png = Path.Combine(TestPaths.NewTempDir(), "finder.png");
        TrainingCharts.SaveFinderCurve(result, png);
        Assert.That(File.ReadAllBytes(png).Take(4), Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }));
    }

    [Test]
    public void CentredAverage_Ramp_HasNoLagWhereTheExponentialAverageTrails()
    {
        double[] ramp = [.. Enumerable.Range(0, 40).Select(i => 10.0 - 0.2 * i)];
        var centred = TrainingCharts.CentredAverage(ramp, 3);
        var ema = TrainingCharts.Smooth(ramp, 0.9);
        for (int i = 3; i < 37; i++) Assert.That(centred[i], Is.EqualTo(ramp[i]).Within(1e-12), $"step {i}");
        Assert.That(ema[20] - ramp[20], Is.GreaterThan(0.5), "the exponential average trails a falling loss");
        Assert.That(centred[0], Is.EqualTo((10 + 9.8 + 9.6 + 9.4) / 4).Within(1e-12), "a shorter window at the ends");
        Assert.That(TrainingCharts.CentredAverage([1, double.NaN, 3], 1), Is.EqualTo(new[] { 1.0, 2.0, 3.0 }));
    }

    [Test]
    public void SaveSchedules_DrawsEachScheduleAndRefusesWhatCannotBeDrawn()
    {
        string dir = TestPaths.NewTempDir();
        string png = Path.Combine(dir, "s.png"), svg = Path.Combine(dir, "s.svg");
        ScheduleOptions[] schedules =
        [
            new() { Kind = ScheduleKind.Cosine, LearningRate = 2e-4, TotalSteps = 100, WarmupRatio = 0.05 },
            new() { Kind = ScheduleKind.Linear, LearningRate = 2e-4, TotalSteps = 100 },
        ];
        ScheduleCharts.SaveSchedules(schedules, png);
        ScheduleCharts.SaveSchedules(schedules, svg, "t", ["first-schedule", "second-schedule"]);
        Assert.That(File.ReadAllBytes(png)[..4], Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47 }));
        string text = File.ReadAllText(svg);
        Assert.That(text, Does.Contain("first-schedule").And.Contain("second-schedule").And.Contain("2e-4").And.Not.Contain("0.0002"), "the legend, and rates in the one format");
        Assert.Throws<ArgumentException>(() => ScheduleCharts.SaveSchedules([], png));
        Assert.Throws<ArgumentException>(() => ScheduleCharts.SaveSchedules([schedules[0] with { TotalSteps = 0 }], png));
        Assert.Throws<ArgumentException>(() => ScheduleCharts.SaveSchedules(schedules, png, labels: ["only one"]));
        Directory.Delete(dir, recursive: true);
    }

    [Test]
    public void Charts_AndCsv_FromMetricsFile()
    {
        string dir = TestPaths.NewTempDir();
        string metrics = Path.Combine(dir, "m.jsonl");
        using (var w = new MetricsWriter(metrics))
        {
            for (int s = 1; s <= 10; s++)
                w.Write("train", ("step", (long)s), ("epoch", s / 10.0), ("lr", 1e-4 * s), ("loss", 5.0 / s), ("grad_norm", 0.5), ("tokens_per_s", 100.0));
            w.Write("eval", ("step", 10L), ("epoch", 1.0), ("eval_loss", 0.7), ("perplexity", 2.0), ("accuracy", null));
            w.Write("event", ("step", 3L), ("kind", "LossSpike"), ("loss", double.NaN));
        }
        string csv = Path.Combine(dir, "m.csv");
        MetricsFile.ExportCsv(metrics, csv);
        var lines = File.ReadAllLines(csv);
        Assert.That(lines, Has.Length.EqualTo(11));
        Assert.That(lines[0], Does.StartWith("step,epoch,lr,loss,grad_norm"));
        Assert.That(lines[10], Does.EndWith(",0.7,"));
        foreach (string ext in new[] { ".png", ".svg" })
        {
            string img = Path.Combine(dir, "curves" + ext);
            TrainingCharts.SaveCurves(metrics, img);
            Assert.That(new FileInfo(img).Length, Is.GreaterThan(1000));
        }
        Assert.That(File.ReadAllText(Path.Combine(dir, "curves.svg")), Does.Contain("<svg"));
        Assert.Throws<ArgumentException>(() => TrainingCharts.SaveCurves(metrics, Path.Combine(dir, "x.gif")));
    }

    [Test]
    public void Charts_RunRowEventsAndAccuracy_AreReadAndDrawn_StepTicksAreWholeNumbers()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            string metrics = Path.Combine(dir, "m.jsonl");
            using (var w = new MetricsWriter(metrics))
            {
                w.Write("run", ("model", "SmolLM2-135M"), ("method", "LoRA"), ("task", "classification"), ("lr", 2e-4), ("step", 0L));
                for (int s = 1; s <= 7; s++)
                    w.Write("train", ("step", (long)s), ("epoch", s / 7.0), ("lr", 2e-4), ("loss", 1.0 / s), ("grad_norm", 0.5), ("tokens_per_s", 100.0));
                w.Write("eval", ("step", 7L), ("epoch", 1.0), ("eval_loss", 0.4), ("perplexity", null), ("accuracy", 0.9));
                w.Write("event", ("step", 3L), ("kind", "LossSpike"), ("action", "SkipUpdate"));
            }
            var run = MetricsFile.ReadRun(metrics);
            Assert.That(run, Is.EqualTo(new RunRow("SmolLM2-135M", "LoRA", "classification", 2e-4)));
            Assert.That(MetricsFile.ReadEvents(metrics), Is.EqualTo(new[] { new EventRow(3, "LossSpike", "SkipUpdate") }));
            string svg = Path.Combine(dir, "c.svg");
            TrainingCharts.SaveCurves(metrics, svg, "mail.jsonl");
            string text = File.ReadAllText(svg);
            Assert.That(text, Does.Contain("LoRA on SmolLM2-135M · mail.jsonl · classification · peak lr 2e-4"));
            Assert.That(text, Does.Contain("eval accuracy").And.Contain("watchdog event"));
            var stepLabels = System.Text.RegularExpressions.Regex.Matches(text, @">(\d+\.5)<").Select(m => m.Groups[1].Value).ToList();
            Assert.That(stepLabels, Is.Empty, "no half-step ticks on a 7-step run");
            var r = MLNetLora.Tests.Cli.CliRun.Run("plot", metrics, "--output", Path.Combine(dir, "p.png"));
            Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
            Assert.That(File.ReadAllBytes(Path.Combine(dir, "p.png"))[..4], Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
