using System.Diagnostics;
using MLNetLora.Training.Data;
using MLNetLora.Training.Schedules;
using MLNetLora.Training.Watchdog;

namespace MLNetLora.Training.Engine;

public sealed partial class LoraTrainer
{
    private int epoch, batchInEpoch;
    private double? bestEvalLoss;
    private int evalsWithoutImprovement;
    private double lossEma;
    private long lossEmaSteps;
    private string? lastCheckpoint;

    /// <summary>
    /// Trains on <paramref name="train"/> for the configured epochs or steps, evaluating on
    /// <paramref name="eval"/>, writing metrics, checkpoints and the final (and best) adapter.
    /// Cancellation writes a checkpoint before returning; <see cref="TrainerOptions.ResumeFrom"/>
    /// continues a run exactly (same data order, same rate curve).
    /// </summary>
    /// <exception cref="ArgumentException">There is no training data, or the resumed checkpoint belongs to other data.</exception>
    public TrainingResult Train(IReadOnlyList<TrainingExample> train, IReadOnlyList<TrainingExample>? eval = null,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Count == 0) throw new ArgumentException("There is no training data: check the --data file and --max-length.", nameof(train));
        int microPerEpoch = Options.MicroBatchesPerEpoch(train.Count);
        long totalSteps = Options.PlannedSteps(train.Count);

        TrainerState? resumed = Options.ResumeFrom is null ? null : TrainingCheckpoint.ReadState(TrainingCheckpoint.Resolve(Options.ResumeFrom));
        if (resumed is not null && resumed.TrainExamples != train.Count)
            throw new ArgumentException($"The checkpoint was trained on {resumed.TrainExamples} examples but {train.Count} were given; resume with the same data and --max-length.");
        Prepare(totalSteps, resumed?.Schedule);
        if (resumed is not null) RestoreFrom(TrainingCheckpoint.Resolve(Options.ResumeFrom!), resumed);

        using var metrics = new MetricsWriter(Options.MetricsFile);
        watchdog.EventRaised += OnEvent;
        var evaluations = new List<EvaluationResult>();
        var clock = Stopwatch.StartNew();
        long stepsThisSession = 0;
        double lastLoss = double.NaN;
        string stop = "completed";
        try
        {
            while (GlobalStep < totalSteps)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    stop = $"cancelled at step {GlobalStep}";
                    break;
                }
                var order = DataOrder.ForEpoch(train.Count, Options.Seed, epoch, Options.Shuffle);
                var micro = new List<Batch>();
                while (micro.Count < Options.GradientAccumulation && batchInEpoch < microPerEpoch)
                {
                    var rows = order.Skip(batchInEpoch * Options.BatchSize).Take(Options.BatchSize).Select(i => train[i]).ToList();
                    micro.Add(Collator.Collate(rows, PadId, Options.MaxLength));
                    batchInEpoch++;
                }
                var stepClock = Stopwatch.StartNew();
                var m = Step(micro);
                double seconds = Math.Max(stepClock.Elapsed.TotalSeconds, 1e-9);
                stepsThisSession++;
                lastLoss = m.Loss;
                if (double.IsFinite(m.Loss))
                {
                    lossEma = 0.9 * lossEma + 0.1 * m.Loss;
                    lossEmaSteps++;
                }
                double smoothed = lossEmaSteps == 0 ? double.NaN : lossEma / (1 - Math.Pow(0.9, lossEmaSteps));
                double epochFloat = epoch + (double)batchInEpoch / microPerEpoch;
                bool skipped = m.Decision.Action != WatchdogAction.Continue;
                metrics.Write("train", ("step", GlobalStep), ("epoch", epochFloat), ("lr", m.LearningRate), ("loss", m.Loss),
                    ("grad_norm", m.GradNorm), ("tokens_per_s", m.Tokens / seconds), ("elapsed_s", clock.Elapsed.TotalSeconds), ("skipped", skipped));
                var perStep = clock.Elapsed / stepsThisSession;
                progress?.Report(new TrainingProgress(GlobalStep, totalSteps, epochFloat, m.Loss, smoothed, m.LearningRate, m.GradNorm,
                    m.Tokens / seconds, clock.Elapsed, perStep * (totalSteps - GlobalStep), Environment.WorkingSet, skipped));

                bool epochEnd = batchInEpoch >= microPerEpoch;
                if (eval is { Count: > 0 } && ((Options.EvalEvery > 0 && GlobalStep % Options.EvalEvery == 0) || epochEnd || GlobalStep == totalSteps))
                {
                    var r = Evaluate(eval, epochFloat);
                    evaluations.Add(r);
                    metrics.Write("eval", ("step", GlobalStep), ("epoch", epochFloat), ("eval_loss", r.Loss),
                        ("perplexity", r.Accuracy is null ? r.Perplexity : null), ("accuracy", r.Accuracy));
                    Log($"eval at step {GlobalStep}: loss {r.Loss:F4}" + (r.Accuracy is double acc ? $", accuracy {acc:P1}" : $", perplexity {r.Perplexity:F2}"));
                    if (Schedule is ReduceOnPlateauSchedule plateau && plateau.Report(r.Loss))
                        Log($"validation loss plateaued: rate reduced to {plateau.CurrentRate:G3}");
                    if (bestEvalLoss is null || r.Loss < bestEvalLoss)
                    {
                        bestEvalLoss = r.Loss;
                        evalsWithoutImprovement = 0;
                        if (Options.OutputDirectory is not null) SaveAdapter(Path.Combine(Options.OutputDirectory, "best-adapter"));
                    }
                    else if (Options.EarlyStoppingPatience > 0 && ++evalsWithoutImprovement >= Options.EarlyStoppingPatience)
                    {
                        stop = $"early stopping: no improvement in {evalsWithoutImprovement} evaluations (best loss {bestEvalLoss:F4})";
                        Log(stop);
                    }
                }
                if (epochEnd)
                {
                    epoch++;
                    batchInEpoch = 0;
                }
                if (stop.StartsWith("early", StringComparison.Ordinal)) break;
                if (Options.CheckpointEvery > 0 && GlobalStep % Options.CheckpointEvery == 0) WriteCheckpoint(train.Count);
            }
        }
        catch (TrainingStoppedException e)
        {
            stop = "stopped by the loss watchdog: " + e.Message;
            Log(stop);
        }
        finally
        {
            watchdog.EventRaised -= OnEvent;
        }
        if (Options.OutputDirectory is not null)
        {
            WriteCheckpoint(train.Count);
            SaveAdapter(Path.Combine(Options.OutputDirectory, "adapter"));
        }
        return new TrainingResult(GlobalStep, lastLoss, evaluations, bestEvalLoss, stop, lastCheckpoint);

        void OnEvent(object? sender, WatchdogEvent e) => metrics.Write("event", ("step", e.Step), ("kind", e.Kind.ToString()),
            ("action", e.Action.ToString()), ("message", e.Message), ("loss", e.Loss), ("grad_norm", e.GradNorm), ("lr", e.LearningRate));
    }

    /// <summary>Pad id used by the collator (the tokenizer's, set by the caller; 0 when unknown).</summary>
    public int PadId { get; init; }

    /// <summary>Mean loss (token-weighted for causal LM) and accuracy (classification) on <paramref name="eval"/>.</summary>
    public EvaluationResult Evaluate(IReadOnlyList<TrainingExample> eval, double epochFloat = 0)
    {
        ArgumentNullException.ThrowIfNull(eval);
        double lossSum = 0, count = 0;
        long correct = 0, rows = 0;
        bool classify = Options.Task == TrainingTask.Classification;
        for (int i = 0; i < eval.Count; i += Options.BatchSize)
        {
            var b = Collator.Collate(eval.Skip(i).Take(Options.BatchSize).ToList(), PadId, Options.MaxLength);
            using var scope = MLNetLora.LibTorch.TensorScope.Begin();
            var ids = MLNetLora.LibTorch.Tensor.FromArray(b.InputIds, b.Size, b.Length).To(model.Device);
            var mask = b.HasPadding ? MLNetLora.LibTorch.Tensor.FromArray(b.AttentionMask, b.Size, b.Length).To(model.Device) : null;
            if (classify)
            {
                var (r, scores) = model.ClassificationStep(ids, mask, b.ClassLabels!, normalizer: 1, backward: false);
                using (scores)
                {
                    lossSum += r.Loss;
                    count += r.Targets;
                    var predicted = scores.ArgMax(-1).ToArray<long>();
                    correct += predicted.Where((p, k) => p == b.ClassLabels![k]).Count();
                    rows += b.Size;
                }
            }
            else
            {
                var r = model.CausalLmStep(ids, b.Labels, mask, normalizer: 1, backward: false);
                lossSum += r.Loss;
                count += r.Targets;
            }
        }
        return new EvaluationResult(GlobalStep, epochFloat, lossSum / Math.Max(1, count), classify ? (double)correct / Math.Max(1, rows) : null);
    }

    /// <summary>Saves the current adapter (and head) in PEFT format.</summary>
    public void SaveAdapter(string directory) =>
        MLNetLora.Models.Lora.PeftAdapterIO.Save(model, Options.Lora with { TargetModules = model.Adapters.Keys.Select(k => k[(k.LastIndexOf('.') + 1)..]).Distinct().ToArray() },
            directory, Options.BaseModelNameOrPath);

    private void WriteCheckpoint(int trainCount)
    {
        if (Options.OutputDirectory is null) return;
        string dir = Path.Combine(Options.OutputDirectory, $"checkpoint-{GlobalStep}");
        var state = new TrainerState
        {
            Step = GlobalStep, Epoch = epoch, BatchInEpoch = batchInEpoch, Seed = Options.Seed, TrainExamples = trainCount,
            DropoutGenerator = dropoutGenerator.SaveState(), Schedule = Schedule.Options,
            Plateau = (Schedule as ReduceOnPlateauSchedule)?.SaveState(), Watchdog = watchdog.SaveState(), RateFactor = RateFactor,
            BestEvalLoss = bestEvalLoss, EvalsWithoutImprovement = evalsWithoutImprovement, LossEma = lossEma, LossEmaSteps = lossEmaSteps,
        };
        TrainingCheckpoint.Save(dir, model, Options.Lora, Optimizer, state, Options.BaseModelNameOrPath);
        lastCheckpoint = dir;
        Log($"checkpoint written: {dir}");
    }

    private void RestoreFrom(string dir, TrainerState s)
    {
        TrainingCheckpoint.LoadTensors(dir, model, Optimizer);
        GlobalStep = s.Step;
        epoch = s.Epoch;
        batchInEpoch = s.BatchInEpoch;
        if (s.DropoutGenerator is not null) dropoutGenerator.RestoreState(s.DropoutGenerator);
        if (s.Plateau is not null && Schedule is ReduceOnPlateauSchedule p) p.RestoreState(s.Plateau);
        if (s.Watchdog is not null) watchdog.RestoreState(s.Watchdog);
        RateFactor = s.RateFactor;
        bestEvalLoss = s.BestEvalLoss;
        evalsWithoutImprovement = s.EvalsWithoutImprovement;
        lossEma = s.LossEma;
        lossEmaSteps = s.LossEmaSteps;
        lastCheckpoint = dir;
        Log($"resumed from {dir} at step {GlobalStep} (epoch {epoch}, batch {batchInEpoch}); next rate {RateAt(GlobalStep):G3}");
    }
}
