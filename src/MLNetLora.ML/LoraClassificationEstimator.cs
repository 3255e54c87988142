using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLNetLora.LibTorch;
using MLNetLora.Models.Hub;
using MLNetLora.Training.Data;
using MLNetLora.Training.Engine;

namespace MLNetLora.ML;

/// <summary>
/// Estimator made by <c>mlContext.Transforms.LoraTrainer(options)</c>: <see cref="Fit"/> reads the
/// text and key-typed label columns, LoRA-fine-tunes the base model with a classification head, and
/// returns a <see cref="LoraClassificationTransformer"/>. Progress goes to <c>mlContext.Log</c>;
/// <see cref="LoraClassificationOptions.CancellationToken"/> (or ML.NET's internal cancellation flag)
/// stops training at the next optimizer step.
/// </summary>
public sealed class LoraClassificationEstimator : IEstimator<LoraClassificationTransformer>
{
    private readonly IHostEnvironment env;
    private readonly LoraClassificationOptions options;
    private readonly TrainerOptions training;

    /// <summary>Creates the estimator; prefer the catalog extension <c>mlContext.Transforms.LoraTrainer</c>.</summary>
    /// <exception cref="ArgumentException">ModelPath is empty, or a training option is out of range (the message names the field).</exception>
    public LoraClassificationEstimator(IHostEnvironment env, LoraClassificationOptions options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ModelPath))
            throw new ArgumentException("LoraClassificationOptions.ModelPath is empty; set it to a Hugging Face model folder (config.json, model.safetensors, tokenizer.json).", nameof(options));
        if (options.EarlyStoppingPatience > 0 && options.ValidationSet is null)
            throw new ArgumentException("LoraClassificationOptions.EarlyStoppingPatience needs a ValidationSet to measure improvement; set ValidationSet or EarlyStoppingPatience = 0.", nameof(options));
        this.env = env;
        this.options = options;
        training = MLOptionNames.Check(() =>
        {
            var o = options.ToTrainerOptions();
            o.Validate();
            return o;
        });
    }

    /// <summary>Input columns plus PredictedLabel (key) and Score (vector of Single) as they will be after fitting.</summary>
    /// <exception cref="ArgumentException">The text or label column is missing or of the wrong type.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        if (Find(inputSchema, options.TextColumnName) is not SchemaShape.Column text)
            throw new ArgumentException($"The input has no text column '{options.TextColumnName}'. Set TextColumnName.");
        if (text.Kind != SchemaShape.Column.VectorKind.Scalar || text.ItemType is not TextDataViewType)
            throw SchemaChecks.WrongText(options.TextColumnName, text.Kind == SchemaShape.Column.VectorKind.Scalar ? text.ItemType.ToString()! : $"{text.Kind} of {text.ItemType}");
        if (Find(inputSchema, options.LabelColumnName) is not SchemaShape.Column label)
            throw new ArgumentException($"The input has no label column '{options.LabelColumnName}'. Set LabelColumnName.");
        if (!label.IsKey)
            throw SchemaChecks.WrongLabel(options.LabelColumnName, label.ItemType.ToString()!);
        var names = MLNetInternals.ShapeColumn("KeyValues", SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false, null);
        var slotNames = MLNetInternals.ShapeColumn("SlotNames", SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false, null);
        var columns = inputSchema.Where(c => c.Name != options.PredictedLabelColumnName && c.Name != options.ScoreColumnName).ToList();
        columns.Add(MLNetInternals.ShapeColumn(options.PredictedLabelColumnName, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.UInt32, true, new SchemaShape([names])));
        columns.Add(MLNetInternals.ShapeColumn(options.ScoreColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false, new SchemaShape([slotNames])));
        return new SchemaShape(columns);
    }

    /// <summary>Trains the adapters and head on <paramref name="input"/> and returns the scoring transformer.</summary>
    /// <exception cref="ArgumentException">A column is missing or of the wrong type, or there are no labelled rows.</exception>
    /// <exception cref="OperationCanceledException">Training was cancelled.</exception>
    public LoraClassificationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        SchemaChecks.TextColumn(input.Schema, options.TextColumnName);
        var (labelCol, classes) = SchemaChecks.LabelColumn(input.Schema, options.LabelColumnName);
        var labelNames = SchemaChecks.LabelNames(labelCol, classes);
        if (options.ValidationSet is IDataView v)
        {
            SchemaChecks.TextColumn(v.Schema, options.TextColumnName);
            var (_, vClasses) = SchemaChecks.LabelColumn(v.Schema, options.LabelColumnName);
            if (vClasses != classes) throw new ArgumentException($"The validation set's label has {vClasses} classes but the training data's has {classes}; map both with the same MapValueToKey transformer.");
        }
        var host = env.Register("LoraTrainer");
        using var ch = host.Start("Training");
        var trainRows = ReadRows(input, "training", ch);
        if (trainRows.Count == 0) throw new ArgumentException($"The training data has no rows with a label in '{options.LabelColumnName}'.");
        // The schedule is checked against the run's length before the model is loaded.
        MLOptionNames.Check(() => training.ResolveSchedule(training.PlannedSteps(trainRows.Count)));
        var evalRows = options.ValidationSet is IDataView vs ? ReadRows(vs, "validation", ch) : null;
        var pretrained = PretrainedModel.Load(options.ModelPath, training.Device, training.Precision);
        try
        {
            var model = new LoraClassifierModel(pretrained, training.Lora, training.BatchSize, training.MaxLength);
            var train = Encode(trainRows, model);
            var eval = evalRows is null ? null : Encode(evalRows, model);
            ch.Info(MessageSensitivity.None, $"LoRA classification: {train.Count} rows, {classes} classes [{string.Join(", ", labelNames)}], base model {options.ModelPath}");
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken);
            using var trainer = new LoraTrainer(pretrained, training with { Log = line => ch.Info(MessageSensitivity.None, line) }, classes);
            var progress = new SyncProgress(p =>
            {
                ch.Info(MessageSensitivity.None, $"step {p.Step}/{p.TotalSteps} epoch {p.Epoch:F2} loss {p.Loss:F4} lr {p.LearningRate:G3}");
                if (MLNetInternals.IsCanceled(env)) cts.Cancel();
            });
            var result = trainer.Train(train, eval, progress, cts.Token);
            ch.Info(MessageSensitivity.None, $"training ended: {result.StopMessage} after {result.Steps} steps, final loss {result.FinalLoss:F4}");
            if (result.Cancelled) throw new OperationCanceledException($"LoRA training was cancelled ({result.StopMessage}).");
            return new LoraClassificationTransformer(model, Path.GetFullPath(options.ModelPath), labelNames,
                options.TextColumnName, options.ScoreColumnName, options.PredictedLabelColumnName);
        }
        catch
        {
            pretrained.Dispose();
            throw;
        }
    }

    private static SchemaShape.Column? Find(SchemaShape shape, string name) =>
        shape.Where(c => c.Name == name).Select(c => (SchemaShape.Column?)c).LastOrDefault();

    // Text and class of every labelled row, read once; tokenized after the checks that need no model.
    private List<(string Text, int Class)> ReadRows(IDataView data, string what, IChannel ch)
    {
        var textCol = data.Schema[options.TextColumnName];
        var labelCol = data.Schema[options.LabelColumnName];
        var rows = new List<(string, int)>();
        long missing = 0;
        using var cursor = data.GetRowCursor([textCol, labelCol]);
        var getText = cursor.GetGetter<ReadOnlyMemory<char>>(textCol);
        var getLabel = cursor.GetGetter<uint>(labelCol);
        ReadOnlyMemory<char> text = default;
        uint key = 0;
        while (cursor.MoveNext())
        {
            getLabel(ref key);
            if (key == 0) { missing++; continue; }
            getText(ref text);
            rows.Add((text.ToString(), (int)key - 1));
        }
        if (missing > 0) ch.Warning(MessageSensitivity.None, $"{missing} {what} rows have a missing label (a value MapValueToKey did not know) and were skipped.");
        return rows;
    }

    private static List<TrainingExample> Encode(List<(string Text, int Class)> rows, LoraClassifierModel model) =>
        rows.Select(r => new TrainingExample(model.Encode(r.Text), ClassLabel: r.Class)).ToList();

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
