using MLNetLora.Models.Generation;
using MLNetLora.Training.Engine;

namespace MLNetLora.ML;

/// <summary>
/// Options of <see cref="LoraGenerationEstimator"/>: LoRA fine-tuning of a Hugging Face causal LM on
/// prompt/response pairs (instruction tuning) or plain texts, inside an ML.NET pipeline, and how the
/// fitted transformer generates. Generation settings left null take the model folder's
/// <c>generation_config.json</c>, then transformers' defaults (greedy; 64 new tokens).
/// </summary>
public sealed class LoraGenerationOptions : LoraTrainingOptions
{
    /// <summary>Options with every learning setting at the training layer's default.</summary>
    public LoraGenerationOptions() : base(TrainingTask.CausalLm) { }

    /// <summary>Prompt column (type Text): what the model is trained to continue and what it continues when scoring. Default "Prompt".</summary>
    public string PromptColumnName = "Prompt";

    /// <summary>
    /// Response column (type Text): the loss is on the response only (plus the EOS that ends it).
    /// Null: train on the whole text of <see cref="PromptColumnName"/> (continued pre-training). Default "Response".
    /// </summary>
    public string? ResponseColumnName = "Response";

    /// <summary>Output column of generated text (the continuation only, not the prompt). Default "Generated".</summary>
    public string OutputColumnName = "Generated";

    /// <summary>
    /// Render each prompt as a user turn and each response as the assistant's with the model's chat template
    /// (<c>chat_template</c> in tokenizer_config.json), as chat models are trained and prompted; generation then
    /// renders the prompt the same way and stops at the end of the assistant's turn. Default false (plain text).
    /// </summary>
    public bool UseChatTemplate;

    /// <summary>A Jinja chat template file to use instead of the model's (with <see cref="UseChatTemplate"/>). Default null.</summary>
    public string? ChatTemplateFile;

    /// <summary>Concatenate rows into full MaxLength blocks (only without a response column: packing drops prompt masking).</summary>
    public bool Packing;

    /// <summary>Most tokens generated per row; null = generation_config.json's <c>max_new_tokens</c>, else 64.</summary>
    public int? MaxNewTokens;

    /// <summary>Sample (true) or pick the most likely token (false); null = generation_config.json's <c>do_sample</c>, else greedy.</summary>
    public bool? DoSample;

    /// <summary>Sampling temperature; null = generation_config.json, else 1.</summary>
    public double? Temperature;

    /// <summary>Top-k filter when sampling (0 disables); null = generation_config.json, else 50.</summary>
    public int? TopK;

    /// <summary>Nucleus (top-p) filter when sampling (1 disables); null = generation_config.json, else 1.</summary>
    public double? TopP;

    /// <summary>Repetition penalty (1 disables); null = generation_config.json, else 1.</summary>
    public double? RepetitionPenalty;

    /// <summary>Seed of sampling: each Transform call (and each PredictionEngine row) starts from it, so outputs repeat. Default 0.</summary>
    public ulong GenerationSeed;

    /// <summary>Texts that end a row (kept in the output, as transformers' <c>stop_strings</c>). Null: none.</summary>
    public IReadOnlyList<string>? StopStrings;

    /// <summary>Token ids that end a row; null = the tokenizer's EOS and the eos_token_id(s) of config.json and generation_config.json.</summary>
    public IReadOnlyList<int>? StopTokenIds;

    /// <summary>The decoding settings for a model folder: these options over its generation_config.json.</summary>
    /// <exception cref="ArgumentException">A setting is out of range (the message names the field).</exception>
    internal GenerationOptions ResolveGeneration(string modelDir)
    {
        var fromFolder = GenerationConfig.Load(modelDir).ToOptions();
        var o = fromFolder with
        {
            MaxNewTokens = MaxNewTokens ?? fromFolder.MaxNewTokens,
            DoSample = DoSample ?? fromFolder.DoSample,
            Temperature = Temperature ?? fromFolder.Temperature,
            TopK = TopK ?? fromFolder.TopK,
            TopP = TopP ?? fromFolder.TopP,
            RepetitionPenalty = RepetitionPenalty ?? fromFolder.RepetitionPenalty,
            Seed = GenerationSeed,
            StopStrings = StopStrings?.ToArray(),
            StopTokenIds = StopTokenIds?.ToArray(),
        };
        try
        {
            o.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentException($"{nameof(LoraGenerationOptions)}.{e.Message.Split(" (Parameter")[0]}", e.ParamName, e);
        }
        return o;
    }
}
