using System.Diagnostics;
using MLNetLora.Training.Data;
using MLNetLora.Training.Schedules;
using MLNetLora.Training.Watchdog;

namespace MLNetLora.Training.Engine;

/// <summary>
/// The loop of <see cref="LoraTrainer.Train"/>: micro-batches in the seeded order, one
/// <see cref="OptimizerStep"/> per step, progress and metrics, evaluation with early stopping and the
/// plateau schedule, and checkpoints. Its position and counters live in one <see cref="TrainerState"/>.
/// </summary>
internal sealed class TrainingLoop(LoraTrainer trainer, OptimizerStep step, IReadOnlyList<TrainingExample> train,
    IReadOnlyList<TrainingExample>? eval, MetricsWriter metrics)
{
    private readonly TrainerOptions o = trainer.Options;
    private readonly int microPerEpoch = trainer.Options.MicroBatchesPerEpoch(train.Count);
    private readonly long totalSteps = trainer.Options.PlannedSteps(train.Count);
    private readonly List<EvaluationResult> evaluations = [];
    private string? lastCheckpoint;
    private (int Epoch, int[] Order) epochOrder = (-1, []);
    private TimeSpan firstStepEnd;

    public TrainingResult Run(TrainerState state, string? resumedFrom, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        lastCheckpoint = resumedFrom;
        var clock = Stopwatch.StartNew();
        long stepsThisSession = 0;
        double lastLoss = double.NaN;
        var (reason, message) = o.MaxSteps is null ? (TrainingStopReason.Completed, "completed") : (TrainingStopReason.MaxSteps, $"reached MaxSteps ({o.MaxSteps})");
        try
        {
            while (state.Step < totalSteps)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    (reason, message) = (TrainingStopReason.Cancelled, $"cancelled at step {state.Step}");
                    break;
                }
                (state, var micro) = NextMicroBatches(state);
                var stepClock = Stopwatch.StartNew();
                var m = step.Run(micro);
                double seconds = Math.Max(stepClock.Elapsed.TotalSeconds, 1e-9);
                state = state.WithLoss(m.Loss) with { Step = step.GlobalStep };
                lastLoss = m.Loss;
                Report(state, m, seconds, clock.Elapsed, ++stepsThisSession, progress);
                if (metrics.Failure is { } failure)
                {
                    (reason, message) = (TrainingStopReason.WriteFailed, $"stopped at step {state.Step}: the metrics file could not be written ({failure.Message}); free space and resume");
                    trainer.Log(message);
                    break;
                }
                bool epochEnd = state.BatchInEpoch >= microPerEpoch;
                if (eval is { Count: > 0 } && ((o.EvalEvery > 0 && state.Step % o.EvalEvery == 0) || epochEnd || state.Step == totalSteps))
                {
                    (state, var verdict) = Evaluate(state);
                    if (verdict == EvalVerdict.Stop)
                        (reason, message) = (TrainingStopReason.EarlyStopping,
                            $"early stopping: no improvement in {state.EvalsWithoutImprovement} evaluations (best loss {state.BestEvalLoss:F4})");
                }
                if (epochEnd) state = state with { Epoch = state.Epoch + 1, BatchInEpoch = 0 };
                if (reason == TrainingStopReason.EarlyStopping)
                {
                    trainer.Log(message);
                    break;
                }
                if (o.CheckpointEvery > 0 && state.Step % o.CheckpointEvery == 0) WriteCheckpoint(state);
            }
        }
        catch (TrainingStoppedException e)
        {
            (reason, message) = (TrainingStopReason.WatchdogStop, "stopped by the loss watchdog: " + e.Message);
            trainer.Log(message);
        }
        if (o.OutputDirectory is not null)
        {
            try
            {
                WriteCheckpoint(state with { Step = step.GlobalStep, UnwrittenMetrics = metrics.Unwritten.Count > 0 ? [.. metrics.Unwritten] : null });
                trainer.SaveModel(Path.Combine(o.OutputDirectory, RunFolder.FinalFolder(o.Method)));
            }
            catch (IOException e)
            {
                // A full disk at the end must not lose the run: the last complete checkpoint stays, and the message says where.
                (reason, message) = (TrainingStopReason.WriteFailed, $"{message}; the final checkpoint or adapter could not be written ({e.Message}). " +
                    (lastCheckpoint is null ? "No checkpoint was written; free space and train again." : $"The last complete checkpoint is {lastCheckpoint}: free space and resume from it."));
                trainer.Log(message);
            }
        }
        // Warnings of a run that otherwise "completed" go into its result and its message, so a
        // diverged or dead run never reads as a success.
        var warnings = step.Watchdog.Events.Where(e => e.Kind is WatchdogEventKind.Divergence or WatchdogEventKind.VanishingGradient
            && e.Action == WatchdogAction.Continue).Select(e => e.Message).ToList();
        if (warnings.Count > 0 && reason is TrainingStopReason.Completed or TrainingStopReason.MaxSteps)
            message += step.Watchdog.Events.Any(e => e.Kind == WatchdogEventKind.Divergence) ? ", but the loss diverged" : ", but the gradient vanished";
        return new TrainingResult(step.GlobalStep, lastLoss, evaluations, state.BestEvalLoss, reason, message, lastCheckpoint)
        {
            SmoothedLoss = state.SmoothedLoss(),
            Warnings = warnings,
        };
    }

    // Up to GradientAccumulation micro-batches of this epoch's order; an epoch's last step may get fewer.
    private (TrainerState, List<Batch>) NextMicroBatches(TrainerState state)
    {
        // The order is a function of seed and epoch; drawing it once per epoch instead of once per step.
        if (epochOrder.Epoch != state.Epoch) epochOrder = (state.Epoch, DataOrder.ForEpoch(train.Count, o.Seed, state.Epoch, o.Shuffle));
        var order = epochOrder.Order;
        var micro = new List<Batch>();
        int next = state.BatchInEpoch;
        while (micro.Count < o.GradientAccumulation && next < microPerEpoch)
        {
            int start = next * o.BatchSize;
            var rows = new ArraySegment<int>(order, start, Math.Min(o.BatchSize, order.Length - start)).Select(i => train[i]).ToList();
            micro.Add(Collator.Collate(rows, trainer.PadId, o.MaxLength));
            next++;
        }
        return (state with { BatchInEpoch = next }, micro);
    }

    private void Report(TrainerState s, StepMetrics m, double seconds, TimeSpan elapsed, long stepsThisSession, IProgress<TrainingProgress>? progress)
    {
        double epoch = s.EpochProgress(microPerEpoch);
        bool skipped = m.Decision.Action != WatchdogAction.Continue;
        metrics.Write("train", ("step", s.Step), ("epoch", epoch), ("lr", m.LearningRate), ("loss", m.Loss),
            ("grad_norm", m.GradNorm), ("tokens_per_s", m.Tokens / seconds), ("elapsed_s", elapsed.TotalSeconds), ("skipped", skipped));
        // The first step of a session pays for warm-up (kernels, allocator, JIT), several times a
        // later step; the ETA uses the steps after it once there are any.
        if (stepsThisSession == 1) firstStepEnd = elapsed;
        var perStep = stepsThisSession > 1 ? (elapsed - firstStepEnd) / (stepsThisSession - 1) : elapsed;
        progress?.Report(new TrainingProgress(s.Step, totalSteps, epoch, m.Loss, s.SmoothedLoss(), m.LearningRate, m.GradNorm,
            m.Tokens / seconds, elapsed, perStep * (totalSteps - s.Step), Environment.WorkingSet, skipped));
    }

    private (TrainerState, EvalVerdict) Evaluate(TrainerState state)
    {
        double epoch = state.EpochProgress(microPerEpoch);
        var r = trainer.Evaluate(eval!, epoch);
        evaluations.Add(r);
        metrics.Write("eval", ("step", state.Step), ("epoch", epoch), ("eval_loss", r.Loss),
            ("perplexity", r.Accuracy is null ? r.Perplexity : null), ("accuracy", r.Accuracy));
        trainer.Log($"eval at step {state.Step}: loss {r.Loss:F4}" + (r.Accuracy is double acc ? $", accuracy {acc:P1}" : $", perplexity {r.Perplexity:F2}"));
        if (step.Schedule is ReduceOnPlateauSchedule plateau && plateau.Report(r.Loss))
            trainer.Log($"validation loss plateaued: rate reduced to {plateau.CurrentRate:G3}");
        var (next, verdict) = EarlyStopping.Observe(state, r.Loss, o.EarlyStoppingPatience);
        if (verdict == EvalVerdict.Improved && o.OutputDirectory is not null) trainer.SaveModel(Path.Combine(o.OutputDirectory, RunFolder.BestFolder(o.Method)));
        return (next, verdict);
    }

    private void WriteCheckpoint(TrainerState state)
    {
        if (o.OutputDirectory is null) return;
        string dir = Path.Combine(o.OutputDirectory, $"checkpoint-{step.GlobalStep}");
        if (lastCheckpoint == dir) return;   // already written at this step (CheckpointEvery hit the last step)
        TrainingCheckpoint.Save(dir, trainer.Model, o.Lora, step.Optimizer, step.Capture(state), o.BaseModelNameOrPath);
        lastCheckpoint = dir;
        trainer.Log($"checkpoint written: {dir}");
        if (o.KeepCheckpoints is int keep)
            foreach (string old in TrainingCheckpoint.Prune(o.OutputDirectory, keep))
                trainer.Log($"checkpoint removed (KeepCheckpoints {keep}): {old}");
    }
}
