using Microsoft.ML;

namespace MLNetLora.Tests.MLNet;

/// <summary>LoraClassificationOptions.CancellationToken reaches the LoRA training loop.</summary>
[TestFixture]
public sealed class LoraTrainerCancellationTests
{
    [Test]
    public void Fit_TokenCancelledDuringTraining_ThrowsOperationCanceledAfterFirstStep()
    {
        var ml = new MLContext(seed: 1);
        using var cts = new CancellationTokenSource();
        int steps = 0;
        ml.Log += (_, e) =>
        {
            if (!e.Source.Contains("LoraTrainer", StringComparison.Ordinal) || !e.RawMessage.StartsWith("step ", StringComparison.Ordinal)) return;
            Interlocked.Increment(ref steps);
            cts.Cancel();
        };
        var data = ml.Data.LoadFromEnumerable(MLNetTestData.Rows(32, seed: 1));
        var e = Assert.Throws<OperationCanceledException>(() => MLNetTestData.Pipeline(ml, WithToken(cts.Token)).Fit(data));
        Assert.Multiple(() =>
        {
            Assert.That(e!.Message, Does.Contain("cancelled"));
            Assert.That(steps, Is.EqualTo(1), "training should stop at the step after cancellation");
        });
    }

    private static MLNetLora.ML.LoraClassificationOptions WithToken(CancellationToken token)
    {
        var o = MLNetTestData.Options();
        o.CancellationToken = token;
        return o;
    }
}
