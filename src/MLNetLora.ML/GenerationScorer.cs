using Microsoft.ML.Data;
using MLNetLora.Models.Generation;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Tokenization;

namespace MLNetLora.ML;

/// <summary>
/// Continuations of prompts from a base model with trained adapters: each batch of prompts is
/// left-padded into one generation with a KV cache. Generations are serialised on this object.
/// </summary>
internal sealed class GenerationScorer : TextScorer
{
    private readonly TextGenerator generator;
    private readonly string[] inputs;
    private readonly ScoredColumn[] outputs;

    private readonly ChatTemplate? template;
    private readonly GenerationOptions decoding;

    public GenerationScorer(PretrainedModel pretrained, GenerationOptions options, int batchSize, string promptColumn, string outputColumn, ChatTemplate? template)
    {
        pretrained.RequireTokenizer();
        generator = TextGenerator.FromPretrained(pretrained);
        Options = options;
        this.template = template;
        // With a template every prompt is rendered the same way, so the adapted options are the same for all.
        decoding = template is null ? options : ChatPrompt.Prepare(generator, template, "", null, options).Options;
        BatchSize = batchSize;
        inputs = [promptColumn];
        outputs = [new(outputColumn, TextDataViewType.Instance)];
    }

    public GenerationOptions Options { get; }

    public override IReadOnlyList<string> InputColumns => inputs;

    public override IReadOnlyList<string> InputOptions { get; } = ["PromptColumnName"];

    public override int BatchSize { get; }

    public override IReadOnlyList<ScoredColumn> Outputs => outputs;

    /// <summary>The generated text of each prompt, in batches of <see cref="BatchSize"/>.</summary>
    public string[] Generate(IReadOnlyList<string> prompts)
    {
        var result = new string[prompts.Count];
        for (int start = 0; start < prompts.Count; start += BatchSize)
        {
            var batch = prompts.Skip(start).Take(BatchSize)
                .Select(p => template is null ? p : ChatPrompt.Prepare(generator, template, p, null, Options).Prompt).ToArray();
            IReadOnlyList<GeneratedSequence> generated;
            lock (this) generated = generator.Generate(batch, decoding);
            for (int i = 0; i < batch.Length; i++) result[start + i] = generated[i].Text ?? "";
        }
        return result;
    }

    public override object[][] Score(IReadOnlyList<string[]> rows) =>
        Generate(rows.Select(r => r[0]).ToArray()).Select(t => new object[] { t }).ToArray();
}
