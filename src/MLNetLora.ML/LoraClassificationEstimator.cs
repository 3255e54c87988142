using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLNetLora.Models.Hub;
using MLNetLora.Training.Data;
using MLNetLora.Training.Engine;

namespace MLNetLora.ML;

/// <summary>
/// Estimator made by <c>mlContext.Transforms.LoraTrainer(LoraClassificationOptions)</c>: <see cref="Fit"/>
/// reads the text (and second-sentence) and key-typed label columns, LoRA-fine-tunes the base model
/// with a classification head, and returns a <see cref="LoraClassificationTransformer"/>. Progress goes
/// to <c>mlContext.Log</c> and ML.NET's progress channel; <see cref="LoraTrainingOptions.CancellationToken"/>
/// (or ML.NET's cancellation flag) stops training at the next optimizer step.
/// </summary>
public sealed class LoraClassificationEstimator : IEstimator<LoraClassificationTransformer>
{
    private readonly IHostEnvironment env;
    private readonly LoraClassificationOptions options;
    private readonly TrainerOptions training;

    /// <summary>Creates the estimator; prefer the catalog extension <c>mlContext.Transforms.LoraTrainer</c>.</summary>
    /// <exception cref="ArgumentException">ModelPath is empty, or a training option is out of range (the message names the field).</exception>
    /// <exception cref="InvalidOperationException">MLContext.GpuDeviceId asks for a GPU that is not there and FallbackToCpu is false.</exception>
    public LoraClassificationEstimator(IHostEnvironment env, LoraClassificationOptions options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        this.env = env;
        this.options = options;
        training = LoraFit.Configure(env, options);
    }

    /// <summary>Input columns plus PredictedLabel (key) and Score (vector of Single) as they will be after fitting.</summary>
    /// <exception cref="ArgumentException">A text or label column is missing or of the wrong type.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaChecks.TextColumn(inputSchema, options.TextColumnName, nameof(options.TextColumnName));
        if (options.Sentence2ColumnName is string s2) SchemaChecks.TextColumn(inputSchema, s2, nameof(options.Sentence2ColumnName));
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
    /// <exception cref="ArgumentException">A column is missing or of the wrong type, the data is empty, or the output folder holds an earlier run.</exception>
    /// <exception cref="OperationCanceledException">Training was cancelled.</exception>
    public LoraClassificationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        LoraFit.CheckNotEmpty(input);
        var (labelCol, classes) = SchemaChecks.LabelColumn(input.Schema, options.LabelColumnName);
        var labelNames = SchemaChecks.LabelNames(labelCol, classes);
        var host = env.Register("LoraTrainer");
        using var ch = host.Start("Training");
        var device = LoraFit.Device(env, options, w => ch.Warning(MessageSensitivity.None, w));
        var run = training with { Device = device };
        LoraFit.CheckOutputFolder(options, run);
        var trainRows = ClassificationRows.Read(input, options, labelNames, "training data", ch);
        LoraFit.CheckBeforeLoad(options, run, trainRows.Count);
        var evalRows = options.ValidationSet is IDataView vs ? ClassificationRows.Read(vs, options, labelNames, "ValidationSet", ch) : null;
        var fingerprint = ModelFingerprint.Of(options.ModelPath);
        var pretrained = PretrainedModel.Load(options.ModelPath, run.Device, run.ModelDType);
        try
        {
            var scorer = new ClassificationScorer(pretrained, labelNames, run.BatchSize, run.MaxLength, options.TextColumnName,
                options.Sentence2ColumnName, options.PredictedLabelColumnName, options.ScoreColumnName);
            var train = trainRows.Select(r => new TrainingExample(scorer.Encode(r.Texts), ClassLabel: r.Class)).ToList();
            var eval = evalRows?.Select(r => new TrainingExample(scorer.Encode(r.Texts), ClassLabel: r.Class)).ToList();
            ch.Info(MessageSensitivity.None, $"LoRA classification: {train.Count} rows, {classes} classes [{string.Join(", ", labelNames)}], base model {options.ModelPath}, device {run.Device}");
            LoraFit.Train(host, ch, options, run, pretrained, classes, train, eval);
            return new LoraClassificationTransformer(pretrained, run.Lora, fingerprint, options.EmbedBaseModel, labelNames, run.BatchSize, run.MaxLength,
                options.TextColumnName, options.Sentence2ColumnName, options.ScoreColumnName, options.PredictedLabelColumnName);
        }
        catch
        {
            pretrained.Dispose();
            throw;
        }
    }

    private static SchemaShape.Column? Find(SchemaShape shape, string name) =>
        shape.Where(c => c.Name == name).Select(c => (SchemaShape.Column?)c).LastOrDefault();
}
