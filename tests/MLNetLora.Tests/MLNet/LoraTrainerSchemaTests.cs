using Microsoft.ML;
using MLNetLora.ML;

namespace MLNetLora.Tests.MLNet;

/// <summary>Schema checks of the LoRA estimator: wrong or missing columns fail with messages that say what to do.</summary>
[TestFixture]
public sealed class LoraTrainerSchemaTests
{
    private sealed class NumericTextRow
    {
        public string Label { get; set; } = "";
        public float Text { get; set; }
    }

    [Test]
    public void Fit_StringLabelWithoutMapValueToKey_ThrowsNamingColumnAndFix()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(MLNetTestData.Rows(4, seed: 1));
        var estimator = ml.Transforms.LoraTrainer(MLNetTestData.Options());
        var e = Assert.Throws<ArgumentException>(() => estimator.Fit(data));
        Assert.That(e!.Message, Does.Contain("'Label'").And.Contain("String").And.Contain("MapValueToKey"));
    }

    [Test]
    public void Fit_NumericTextColumn_ThrowsNamingColumnAndType()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new NumericTextRow { Label = "a", Text = 1 }, new NumericTextRow { Label = "b", Text = 2 } });
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LoraTrainer(MLNetTestData.Options()));
        var e = Assert.Throws<ArgumentException>(() => pipeline.Fit(data));
        Assert.That(e!.Message, Does.Contain("'Text'").And.Contain("Single").And.Contain("Text (string)"));
    }

    [Test]
    public void GetOutputSchema_KeyLabel_AddsKeyPredictionAndScoreVector()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(MLNetTestData.Rows(4, seed: 1));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
        var shape = ml.Transforms.LoraTrainer(MLNetTestData.Options()).GetOutputSchema(MLNetInternals.ShapeOf(keyed.Schema));
        var predicted = shape.Single(c => c.Name == "PredictedLabel");
        var score = shape.Single(c => c.Name == "Score");
        Assert.Multiple(() =>
        {
            Assert.That(predicted.IsKey, Is.True);
            Assert.That(score.Kind, Is.EqualTo(SchemaShape.Column.VectorKind.Vector));
            Assert.That(score.ItemType, Is.EqualTo(Microsoft.ML.Data.NumberDataViewType.Single));
        });
    }

    [Test]
    public void GetOutputSchema_StringLabel_ThrowsWithMapValueToKeyHint()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(MLNetTestData.Rows(4, seed: 1));
        var estimator = ml.Transforms.LoraTrainer(MLNetTestData.Options());
        var e = Assert.Throws<ArgumentException>(() => estimator.GetOutputSchema(MLNetInternals.ShapeOf(data.Schema)));
        Assert.That(e!.Message, Does.Contain("MapValueToKey"));
    }
}
