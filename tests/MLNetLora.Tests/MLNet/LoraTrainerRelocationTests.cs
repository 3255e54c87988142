using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetLora.ML;

namespace MLNetLora.Tests.MLNet;

/// <summary>A saved model whose base-model folder moved loads when Register is told the new place.</summary>
public sealed class LoraTrainerRelocationTests : TempDirFixture
{
    [Test]
    public void Load_BaseModelMoved_FailsWithAdvice_ThenWorksWithRegisterOverride()
    {
        // Train on a copy of the fixture, save, then delete the copy: the zip's stored path is gone.
        string copy = Path.Combine(Dir, "base");
        Directory.CreateDirectory(copy);
        foreach (string f in Directory.GetFiles(TestPaths.Fixture("llama"))) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(MLNetTestData.Rows(16, seed: 3));
        var options = MLNetTestData.Options();
        options.ModelPath = copy;
        options.Epochs = 1;
        var model = MLNetTestData.Pipeline(ml, options).Fit(data);
        string zip = Path.Combine(Dir, "model.zip");
        ml.Model.Save(model, data.Schema, zip);
        float[] expected = Scores(ml, model, data);
        (model as IDisposable)?.Dispose();
        Directory.Delete(copy, recursive: true);

        var fresh = new MLContext(seed: 1);
        MLNetLoraCatalog.Register(fresh);
        var ex = Assert.Catch(() => fresh.Model.Load(zip, out _));
        Assert.That(AllMessages(ex!), Does.Contain(copy).And.Contain("baseModelDirectory"));

        var relocated = new MLContext(seed: 1);
        MLNetLoraCatalog.Register(relocated, baseModelDirectory: TestPaths.Fixture("llama"));
        var loaded = relocated.Model.Load(zip, out _);
        Assert.That(Scores(relocated, loaded, data), Is.EqualTo(expected).Within(1e-4), "same base weights, same adapter, same scores");
    }

    private static float[] Scores(MLContext ml, ITransformer model, IDataView data) =>
        model.Transform(data).GetColumn<VBuffer<float>>("Score").SelectMany(s => s.DenseValues()).ToArray();

    private static string AllMessages(Exception e) => e.InnerException is null ? e.Message : e.Message + " | " + AllMessages(e.InnerException);
}
