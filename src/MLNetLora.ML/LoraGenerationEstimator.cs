using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Tokenization;
using MLNetLora.Training.Data;
using MLNetLora.Training.Engine;

namespace MLNetLora.ML;

/// <summary>
/// Estimator made by <c>mlContext.Transforms.LoraTrainer(LoraGenerationOptions)</c>: <see cref="Fit"/>
/// reads the prompt and response columns, LoRA-fine-tunes the causal LM with the loss on the response
/// (or on the whole prompt text without a response column), and returns a <see cref="LoraGenerationTransformer"/>
/// that adds generated text. Progress goes to <c>mlContext.Log</c> and ML.NET's progress channel.
/// </summary>
public sealed class LoraGenerationEstimator : IEstimator<LoraGenerationTransformer>
{
    private readonly IHostEnvironment env;
    private readonly LoraGenerationOptions options;
    private readonly TrainerOptions training;

    /// <summary>Creates the estimator; prefer the catalog extension <c>mlContext.Transforms.LoraTrainer</c>.</summary>
    /// <exception cref="ArgumentException">ModelPath is empty, or an option is out of range (the message names the field).</exception>
    /// <exception cref="InvalidOperationException">MLContext.GpuDeviceId asks for a GPU that is not there and FallbackToCpu is false.</exception>
    public LoraGenerationEstimator(IHostEnvironment env, LoraGenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Packing && options.ResponseColumnName is not null)
            throw new ArgumentException($"{nameof(LoraGenerationOptions)}.Packing concatenates rows and drops the prompt masking a response column needs; " +
                "set ResponseColumnName = null to pack plain texts, or Packing = false.", nameof(options));
        if (options.UseChatTemplate && options.ResponseColumnName is null)
            throw new ArgumentException($"{nameof(LoraGenerationOptions)}.UseChatTemplate trains on the assistant's turn, which is the response column; set ResponseColumnName.", nameof(options));
        if (options.ChatTemplateFile is string f && !File.Exists(f))
            throw new ArgumentException($"{nameof(LoraGenerationOptions)}.ChatTemplateFile '{f}' does not exist.", nameof(options));
        if (options.ChatTemplateFile is not null && !options.UseChatTemplate)
            throw new ArgumentException($"{nameof(LoraGenerationOptions)}.ChatTemplateFile is used only with UseChatTemplate = true.", nameof(options));
        this.env = env;
        this.options = options;
        training = LoraFit.Configure(env, options, o => o with { Packing = options.Packing });
    }

    /// <summary>Input columns plus the generated-text column as it will be after fitting.</summary>
    /// <exception cref="ArgumentException">The prompt or response column is missing or not text.</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaChecks.TextColumn(inputSchema, options.PromptColumnName, nameof(options.PromptColumnName));
        if (options.ResponseColumnName is string r) SchemaChecks.TextColumn(inputSchema, r, nameof(options.ResponseColumnName));
        var columns = inputSchema.Where(c => c.Name != options.OutputColumnName).ToList();
        columns.Add(MLNetInternals.ShapeColumn(options.OutputColumnName, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance, false, null));
        return new SchemaShape(columns);
    }

    /// <summary>Trains the adapters on <paramref name="input"/> and returns the generating transformer.</summary>
    /// <exception cref="ArgumentException">A column is missing or not text, the data is empty, an option does not fit the run, or the output folder holds an earlier run.</exception>
    /// <exception cref="OperationCanceledException">Training was cancelled.</exception>
    public LoraGenerationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        LoraFit.CheckNotEmpty(input);
        var host = env.Register("LoraTrainer");
        using var ch = host.Start("Training");
        var device = LoraFit.Device(env, options, w => ch.Warning(MessageSensitivity.None, w));
        var run = training with { Device = device };
        LoraFit.CheckOutputFolder(options, run);
        var trainRows = GenerationRows.Read(input, options.PromptColumnName, options.ResponseColumnName);
        if (trainRows.Count == 0) LoraFit.CheckBeforeLoad(options, run, 0);
        var evalRows = options.ValidationSet is IDataView vs ? GenerationRows.Read(vs, options.PromptColumnName, options.ResponseColumnName) : null;
        var generation = options.ResolveGeneration(options.ModelPath);
        // The tokenizer alone is cheap to load: the rows are encoded, packed and checked against the
        // schedule before the weights are read.
        var tokenizer = HfTokenizer.Load(options.ModelPath);
        var template = ResolveChatTemplate(options, tokenizer);
        var train = Encode(trainRows, tokenizer, run.MaxLength, template);
        var eval = evalRows is null ? null : Encode(evalRows, tokenizer, run.MaxLength, template);
        LoraFit.CheckBeforeLoad(options, run, run.TrainingSet(train, tokenizer.EosId).Count);
        var fingerprint = ModelFingerprint.Of(options.ModelPath);
        var pretrained = PretrainedModel.Load(options.ModelPath, run.Device, run.ModelDType);
        try
        {
            ch.Info(MessageSensitivity.None, $"LoRA generation: {train.Count} rows ({(options.ResponseColumnName is null ? "loss on the whole text" : "loss on the responses")}), " +
                $"{train.Sum(e => (long)e.InputIds.Length)} tokens, base model {options.ModelPath}, device {run.Device}");
            LoraFit.Train(host, ch, options, run, pretrained, 0, train, eval);
            return new LoraGenerationTransformer(pretrained, run.Lora, fingerprint, options.EmbedBaseModel, generation, run.BatchSize, run.MaxLength,
                options.PromptColumnName, options.ResponseColumnName, options.OutputColumnName, template?.Source);
        }
        catch
        {
            pretrained.Dispose();
            throw;
        }
    }

    private static ChatTemplate? ResolveChatTemplate(LoraGenerationOptions options, HfTokenizer tokenizer)
    {
        if (!options.UseChatTemplate) return null;
        if (options.ChatTemplateFile is string f)
        {
            try
            {
                return ChatTemplate.Create(File.ReadAllText(f), tokenizer);
            }
            catch (Models.Templating.TemplateException e)
            {
                throw new ArgumentException($"{nameof(LoraGenerationOptions)}.ChatTemplateFile '{f}' cannot be read: {e.Message}", nameof(options), e);
            }
        }
        return tokenizer.ChatTemplate ?? throw new ArgumentException(
            $"{nameof(LoraGenerationOptions)}.UseChatTemplate: the model in '{options.ModelPath}' has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja); set ChatTemplateFile.", nameof(options));
    }

    private static List<TrainingExample> Encode(List<(string Prompt, string? Response)> rows, HfTokenizer tokenizer, int maxLength, ChatTemplate? template)
    {
        var examples = new List<TrainingExample>(rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            try
            {
                examples.Add(InstructionExample.Encode(tokenizer, rows[i].Prompt, rows[i].Response, maxLength, template));
            }
            catch (Models.Templating.TemplateException e)
            {
                throw new ArgumentException($"Row {i + 1}: the chat template cannot render it: {e.Message}", nameof(rows), e);
            }
        }
        return examples;
    }
}
