using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetLora.ML;
using MLNetLora.Models.Hub;

namespace MLNetLora.Tests.MLNet;

/// <summary>Saved models check their base model by fingerprint and can carry it inside the zip.</summary>
[NonParallelizable]
public sealed class ModelPackageTests : TempDirFixture
{
    private string CopyFixture(string name)
    {
        string copy = Path.Combine(Dir, name);
        Directory.CreateDirectory(copy);
        foreach (string f in Directory.GetFiles(TestPaths.Fixture("llama"))) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        return copy;
    }

    private static LoraGenerationOptions QuickOptions(string modelPath)
    {
        var o = GenerationTestData.Options();
        o.ModelPath = modelPath;
        o.MaxSteps = 3;
        return o;
    }

    private static List<string> Generate(MLContext ml, ITransformer model) =>
        model.Transform(ml.Data.LoadFromEnumerable(GenerationTestData.Pairs.Select(p => new PromptRow { Prompt = p.Prompt })))
            .GetColumn<string>("Generated").ToList();

    [Test]
    public void Load_BaseModelWithChangedConfig_RefusesNamingTheFile()
    {
        string base1 = CopyFixture("base"), other = CopyFixture("other");
        var ml = new MLContext(seed: 1);
        using var model = ml.Transforms.LoraTrainer(QuickOptions(base1)).Fit(GenerationTestData.Data(ml, 1));
        string zip = Path.Combine(Dir, "model.zip");
        ml.Model.Save(model, GenerationTestData.Data(ml, 1).Schema, zip);
        File.WriteAllText(Path.Combine(other, "config.json"), File.ReadAllText(Path.Combine(other, "config.json")).Replace("1e-05", "1e-06", StringComparison.Ordinal));

        var fresh = new MLContext(seed: 1);
        MLNetLoraCatalog.Register(fresh, baseModelDirectory: other);
        var e = Assert.Catch(() => fresh.Model.Load(zip, out _));
        string all = Messages(e!);
        Assert.That(all, Does.Contain("config.json differs").And.Contain(other).And.Contain(base1));
    }

    [Test]
    public void Fingerprint_OneWeightByteChanged_Differs()
    {
        string copy = CopyFixture("base");
        var before = ModelFingerprint.Of(copy);
        string weights = Path.Combine(copy, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        long headerEnd = 8 + BitConverter.ToInt64(bytes, 0);
        bytes[headerEnd + (bytes.Length - headerEnd) / 2] ^= 0x40;
        File.WriteAllBytes(weights, bytes);
        var after = ModelFingerprint.Of(copy);
        Assert.That(before.Differences(after), Has.Count.EqualTo(1).And.Some.StartsWith("model.safetensors differs"));
        Assert.That(before.Differences(ModelFingerprint.Of(TestPaths.Fixture("llama"))), Is.Empty, "a copy of the same files has the same fingerprint");
    }

    [Test]
    public void Save_EmbedBaseModel_LoadsAfterTheBaseFolderIsGone_InChunks()
    {
        string base1 = CopyFixture("base");
        var ml = new MLContext(seed: 1);
        var options = QuickOptions(base1);
        options.EmbedBaseModel = true;
        using var model = ml.Transforms.LoraTrainer(options).Fit(GenerationTestData.Data(ml, 1));
        var expected = Generate(ml, model);
        string zip = Path.Combine(Dir, "model.zip");
        long baseBytes = ModelFingerprint.FilesOf(base1).Sum(f => new FileInfo(Path.Combine(base1, f)).Length);
        long saved = ModelPackage.ChunkBytes;
        ModelPackage.ChunkBytes = 300_000; // model.safetensors (1.4 MB) goes into 5 entries
        try
        {
            ml.Model.Save(model, GenerationTestData.Data(ml, 1).Schema, zip);
        }
        finally
        {
            ModelPackage.ChunkBytes = saved;
        }
        using (var archive = System.IO.Compression.ZipFile.OpenRead(zip))
            Assert.That(archive.Entries.Count(e => e.FullName.Contains("BaseFile.", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(5 + 4));
        Directory.Delete(base1, recursive: true);

        var fresh = new MLContext(seed: 1);
        var loaded = MLNetLoraCatalog.LoadModel(fresh, zip, out _);
        Assert.That(Generate(fresh, loaded), Is.EqualTo(expected));
        TestContext.Out.WriteLine($"zip {new FileInfo(zip).Length} bytes for {baseBytes} bytes of model files");
        Assert.That(new FileInfo(zip).Length, Is.LessThan(baseBytes * 11 / 10).And.GreaterThan(baseBytes / 2),
            "the zip carries the model files once (deflate gains little on float weights)");
        (loaded as IDisposable)?.Dispose();
    }

    private static string Messages(Exception e) => e.InnerException is null ? e.Message : e.Message + " | " + Messages(e.InnerException);
}
