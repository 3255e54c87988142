using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNetLora.Models.Hub;
using MLNetLora.Training.Data;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;

namespace MLNetLora.ML;

/// <summary>
/// The part of Fit both estimators share: the run through the training layer's <see cref="LoraTrainer"/>,
/// with progress on ML.NET's progress channel and a line to <c>mlContext.Log</c> every
/// <see cref="LoraTrainingOptions.LogEvery"/> steps, and cancellation by the options' token or
/// ML.NET's own flag.
/// </summary>
internal static class LoraFit
{
    /// <summary>The options as the training layer's configuration, on the device the MLContext selects, checked.</summary>
    /// <exception cref="ArgumentException">A value is invalid; the message names the options field.</exception>
    public static TrainerOptions Configure(IHostEnvironment env, LoraTrainingOptions options, Func<TrainerOptions, TrainerOptions>? specialise = null)
    {
        if (string.IsNullOrWhiteSpace(options.ModelPath))
            throw new ArgumentException($"{options.TypeName}.ModelPath is empty; set it to a Hugging Face model folder (config.json, model.safetensors, tokenizer.json).", nameof(options));
        if (options.EarlyStoppingPatience > 0 && options.ValidationSet is null)
            throw new ArgumentException($"{options.TypeName}.EarlyStoppingPatience needs a ValidationSet to measure improvement; set ValidationSet or EarlyStoppingPatience = 0.", nameof(options));
        if (options.LogEvery < 1)
            throw new ArgumentException($"{options.TypeName}.LogEvery must be at least 1 (got {options.LogEvery}).", nameof(options));
        var checkedOptions = MLOptionNames.Check(options.TypeName, () =>
        {
            var o = options.ToTrainerOptions(LibTorch.Device.Cpu);
            o = specialise?.Invoke(o) ?? o;
            o.Validate();
            return o;
        });
        string modelPath = Path.GetFullPath(options.ModelPath);
        if (File.Exists(modelPath))
            throw new ArgumentException($"{options.TypeName}.ModelPath '{modelPath}' is a file; set it to the Hugging Face model folder that holds config.json, model.safetensors and tokenizer.json.", nameof(options));
        if (!Directory.Exists(modelPath))
            throw new ArgumentException($"{options.TypeName}.ModelPath '{modelPath}' does not exist; set it to a Hugging Face model folder (config.json, model.safetensors, tokenizer.json).", nameof(options));
        return checkedOptions with { Device = Device(env, options, null) };
    }

    /// <summary>The device of the run (see <see cref="LoraTrainingOptions.Device"/>).</summary>
    public static LibTorch.Device Device(IHostEnvironment env, LoraTrainingOptions options, Action<string>? warn) =>
        DeviceSelection.Resolve(env, options.Device, options.TypeName, warn);

    /// <summary>The data view has no rows (checked before anything reads its columns' types, so an empty view says it is empty).</summary>
    public static void CheckNotEmpty(IDataView input)
    {
        using var cursor = input.GetRowCursor([]);
        if (!cursor.MoveNext()) throw new ArgumentException("The training data is empty (0 rows); give the estimator rows to learn from.", nameof(input));
    }

    /// <summary>The first check of Fit: the output folder holds no earlier run (unless resuming).</summary>
    public static void CheckOutputFolder(LoraTrainingOptions options, TrainerOptions training) =>
        MLOptionNames.Check(options.TypeName, () => RunFolder.CheckNoEarlierRun(training));

    /// <summary>Checks that need the data but no model: there are rows, and the schedule fits the run's length.</summary>
    public static void CheckBeforeLoad(LoraTrainingOptions options, TrainerOptions training, int trainCount)
    {
        if (trainCount == 0) throw new ArgumentException("The training data is empty (0 rows); give the estimator rows to learn from.");
        MLOptionNames.Check(options.TypeName, () => training.ResolveSchedule(training.PlannedSteps(trainCount)));
    }

    /// <summary>Trains <paramref name="pretrained"/> (adapters added by the trainer) and returns how the run ended.</summary>
    /// <exception cref="OperationCanceledException">Training was cancelled (a checkpoint was written when there is an output folder).</exception>
    public static TrainingResult Train(IHost host, IChannel ch, LoraTrainingOptions options, TrainerOptions training, PretrainedModel pretrained,
        int classCount, IReadOnlyList<TrainingExample> train, IReadOnlyList<TrainingExample>? eval)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken);
        using var trainer = new LoraTrainer(pretrained, training with { Log = line => ch.Info(MessageSensitivity.None, line) }, classCount);
        using var pch = host.StartProgressChannel("LoRA training");
        TrainingProgress? last = null;
        pch.SetHeader(new ProgressHeader(["loss", "learning rate", "tokens/s"], ["step"]), e =>
        {
            if (last is not { } p) return;
            e.SetProgress(0, p.Step, p.TotalSteps);
            e.SetMetric(0, p.Loss);
            e.SetMetric(1, p.LearningRate);
            e.SetMetric(2, p.TokensPerSecond);
        });
        var progress = new SyncProgress(p =>
        {
            last = p;
            if (p.Step == 1 || p.Step % options.LogEvery == 0 || p.Step == p.TotalSteps)
                ch.Info(MessageSensitivity.None, $"step {p.Step}/{p.TotalSteps} epoch {p.Epoch:F2} loss {p.Loss:F4} lr {RateText.Format(p.LearningRate)} " +
                    $"{p.TokensPerSecond:F0} tok/s eta {p.Eta:hh\\:mm\\:ss}");
            if (MLNetInternals.IsCanceled(host)) cts.Cancel();
        });
        var result = trainer.Train(train, eval, progress, cts.Token);
        ch.Info(MessageSensitivity.None, $"training ended: {result.StopMessage} after {result.Steps} steps, final loss {result.FinalLoss:F4}" +
            (result.Evaluations.Count > 0 ? $", validation loss {result.Evaluations[^1].Loss:F4}" : ""));
        foreach (string warning in result.Warnings) ch.Warning(MessageSensitivity.None, warning);
        if (result.Cancelled)
            throw new OperationCanceledException($"LoRA training was cancelled ({result.StopMessage})" +
                (result.LastCheckpoint is { } c ? $"; continue it with ResumeFrom = \"{c}\"." : "."));
        return result;
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
