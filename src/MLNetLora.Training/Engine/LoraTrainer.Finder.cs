using MLNetLora.Training.Data;
using MLNetLora.Training.LrFinder;

namespace MLNetLora.Training.Engine;

public sealed partial class LoraTrainer
{
    /// <summary>
    /// Runs the learning-rate range test: one optimizer step per rate of an exponential sweep over
    /// batches of <paramref name="train"/>, until the smoothed loss diverges or the sweep ends; then
    /// restores the adapters and optimizer exactly as they were. The suggestion is advisory: on
    /// transformers such tests tend to point too high, so it is divided by a safety factor and capped.
    /// </summary>
    /// <exception cref="ArgumentException">There is no training data.</exception>
    public LrFinderResult FindLearningRate(IReadOnlyList<TrainingExample> train, LrFinderOptions? finderOptions = null,
        IProgress<LrFinderPoint>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Count == 0) throw new ArgumentException("The rate finder needs training data.", nameof(train));
        var finder = new LearningRateFinder(finderOptions);
        if (engine is null) Prepare(finder.Options.Steps);
        using var before = TrainingSnapshot.Take(model, Optimizer, GlobalStep);
        long stepBefore = GlobalStep;
        var order = DataOrder.ForEpoch(train.Count, Options.Seed, 0, Options.Shuffle);
        int next = 0;
        try
        {
            while (!finder.IsFinished && !cancellationToken.IsCancellationRequested)
            {
                double rate = finder.NextRate();
                var rows = new List<TrainingExample>();
                for (int k = 0; k < Options.BatchSize; k++) rows.Add(train[order[next++ % order.Length]]);
                var m = Engine.Run([Collator.Collate(rows, PadId, Options.MaxLength)], rate);
                bool more = finder.Record(m.Loss);
                var last = finder.Result.Curve;
                if (last.Count > 0) progress?.Report(last[^1]);
                if (!more) break;
            }
        }
        finally
        {
            before.Restore(model, Optimizer);
            Engine.GlobalStep = stepBefore;
        }
        var result = finder.Result;
        Log($"rate finder: {result.Reason}");
        return result;
    }
}
