using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNetLora.Models.Generation;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;
using MLNetLora.Training.Data;
using MLNetLora.Training.Engine;

namespace MLNetLora.ML;

/// <summary>
/// A fitted LoRA causal LM. <see cref="LoraTransformer.Transform"/> adds a text column generated
/// from the prompt column (batches of prompts, left-padded, with a KV cache); PredictionEngine
/// generates one row per call. <see cref="Evaluate"/> measures loss and perplexity on held-out rows.
/// Saved with <c>mlContext.Model.Save</c>; a process that only loads calls <see cref="MLNetLoraCatalog.Register"/> first.
/// </summary>
public sealed class LoraGenerationTransformer : LoraTransformer
{
    internal const string LoaderSignature = "MLNetLoraGenerator";
    private readonly GenerationScorer scorer;
    private readonly int maxLength;

    internal LoraGenerationTransformer(PretrainedModel pretrained, LoraSettings lora, ModelFingerprint fingerprint, bool embed,
        GenerationOptions generation, int batchSize, int maxLength, string promptColumn, string? responseColumn, string outputColumn, string? chatTemplate)
        : base(pretrained, lora, fingerprint, embed)
    {
        ChatTemplate = chatTemplate is null ? null : Models.Tokenization.ChatTemplate.Create(chatTemplate, pretrained.RequireTokenizer());
        PromptColumnName = promptColumn;
        ResponseColumnName = responseColumn;
        OutputColumnName = outputColumn;
        this.maxLength = maxLength;
        scorer = new GenerationScorer(pretrained, generation, batchSize, promptColumn, outputColumn, ChatTemplate);
    }

    /// <summary>The chat template prompts are rendered with (<see cref="LoraGenerationOptions.UseChatTemplate"/>), or null for plain text.</summary>
    public Models.Tokenization.ChatTemplate? ChatTemplate { get; }

    /// <summary>The prompt column generation continues.</summary>
    public string PromptColumnName { get; }

    /// <summary>The response column the model was trained on (used by <see cref="Evaluate"/>), or null for plain-text training.</summary>
    public string? ResponseColumnName { get; }

    /// <summary>The generated-text column.</summary>
    public string OutputColumnName { get; }

    /// <summary>The decoding settings (the options over the model folder's generation_config.json).</summary>
    public GenerationOptions Generation => scorer.Options;

    /// <summary>Prompts per generation batch.</summary>
    public int BatchSize => scorer.BatchSize;

    private protected override TextScorer Scorer => scorer;

    private protected override string Signature => "LORAGENR";

    private protected override string LoaderSignatureOfType => LoaderSignature;

    private protected override object SavedSettings => new Settings(Generation.MaxNewTokens, Generation.DoSample, Generation.Temperature,
        Generation.TopK, Generation.TopP, Generation.RepetitionPenalty, Generation.Seed, Generation.StopStrings?.ToArray(),
        Generation.StopTokenIds?.ToArray(), scorer.BatchSize, maxLength, PromptColumnName, ResponseColumnName, OutputColumnName, ChatTemplate?.Source);

    /// <summary>The generated continuation of each prompt.</summary>
    public IReadOnlyList<string> Generate(IReadOnlyList<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ThrowIfDisposed();
        return scorer.Generate(prompts);
    }

    /// <summary>
    /// Loss and perplexity on <paramref name="data"/>: the mean cross-entropy of the response tokens
    /// given their prompts, computed as in training (or of the whole prompt text when the model was
    /// trained without a response column).
    /// </summary>
    /// <param name="data">Rows with the prompt (and response) columns.</param>
    /// <exception cref="ArgumentException">A column is missing or not text, or the data has no rows.</exception>
    public GenerationMetrics Evaluate(IDataView data)
    {
        ArgumentNullException.ThrowIfNull(data);
        ThrowIfDisposed();
        var rows = GenerationRows.Read(data, PromptColumnName, ResponseColumnName);
        if (rows.Count == 0) throw new ArgumentException("The evaluation data is empty (0 rows).", nameof(data));
        var tok = Pretrained.RequireTokenizer();
        var examples = rows.Select(r => InstructionExample.Encode(tok, r.Prompt, r.Response, maxLength, ChatTemplate)).ToList();
        EvaluationTotals totals;
        lock (scorer) totals = ModelEvaluation.Evaluate(Pretrained.Model, examples, TrainingTask.CausalLm, BatchSize, Pretrained.PaddingId, maxLength);
        return new GenerationMetrics(totals.Loss, totals.Perplexity, totals.Targets, rows.Count);
    }

    /// <summary>Loader called by ML.NET through the registration of <see cref="MLNetLoraCatalog.Register"/>; <paramref name="ctx"/> is its ModelLoadContext.</summary>
    internal static LoraGenerationTransformer Create(IHostEnvironment env, object ctx)
    {
        var s = JsonSerializer.Deserialize<Settings>(MLNetInternals.Read(ctx, "Meta"))
            ?? throw new InvalidDataException("The saved LoRA generator has empty metadata.");
        var device = DeviceSelection.Resolve(env, null, "MLContext", null);
        var (pretrained, lora, fingerprint, embedded) = ModelPackage.Load(env, ctx, device, "LoRA generator");
        var generation = new GenerationOptions
        {
            MaxNewTokens = s.MaxNewTokens, DoSample = s.DoSample, Temperature = s.Temperature, TopK = s.TopK, TopP = s.TopP,
            RepetitionPenalty = s.RepetitionPenalty, Seed = s.Seed, StopStrings = s.StopStrings, StopTokenIds = s.StopTokenIds,
        };
        return new LoraGenerationTransformer(pretrained, lora, fingerprint, embedded, generation, s.BatchSize, s.MaxLength,
            s.PromptColumn, s.ResponseColumn, s.OutputColumn, s.ChatTemplate);
    }

    private sealed record Settings(int MaxNewTokens, bool DoSample, double Temperature, int TopK, double TopP, double RepetitionPenalty,
        ulong Seed, string[]? StopStrings, int[]? StopTokenIds, int BatchSize, int MaxLength, string PromptColumn, string? ResponseColumn,
        string OutputColumn, string? ChatTemplate = null);
}
