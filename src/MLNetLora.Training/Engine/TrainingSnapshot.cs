using MLNetLora.LibTorch;
using MLNetLora.Models.Transformer;
using MLNetLora.Training.Optim;

namespace MLNetLora.Training.Engine;

/// <summary>An in-memory copy of every trainable tensor and the optimizer moments, for watchdog rollbacks.</summary>
internal sealed class TrainingSnapshot : IDisposable
{
    private readonly List<(Tensor Live, Tensor Copy)> pairs = [];

    private TrainingSnapshot(long step, long optimizerStep)
    {
        Step = step;
        OptimizerStep = optimizerStep;
    }

    public long Step { get; }

    public long OptimizerStep { get; }

    public static TrainingSnapshot Take(DecoderModel model, AdamW optimizer, long step)
    {
        var s = new TrainingSnapshot(step, optimizer.Step);
        var live = model.Adapters.Values.SelectMany(a => a.Magnitude is null ? new[] { a.A, a.B } : [a.A, a.B, a.Magnitude])
            .Concat(model.ScoreHead is null ? [] : [model.ScoreHead.Weight])
            .Concat(model.TrainableWeights.Select(w => w.Value))
            .Concat(optimizer.StateTensors().SelectMany(t => new[] { t.ExpAvg, t.ExpAvgSq }));
        foreach (var t in live) s.pairs.Add((t, t.Clone().DetachFromScopes()));
        return s;
    }

    public void Restore(DecoderModel model, AdamW optimizer)
    {
        foreach (var (liveTensor, copy) in pairs) liveTensor.CopyFrom(copy);
        optimizer.RestoreStep(OptimizerStep);
    }

    public void Dispose()
    {
        foreach (var (_, copy) in pairs) copy.Dispose();
        pairs.Clear();
    }
}
