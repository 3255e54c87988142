using Microsoft.ML.Data;
using MLNetLora.Models.Generation;
using MLNetLora.Models.Hub;

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

    public GenerationScorer(PretrainedModel pretrained, GenerationOptions options, int batchSize, string promptColumn, string outputColumn)
    {
        pretrained.RequireTokenizer();
        generator = TextGenerator.FromPretrained(pretrained);
        Options = options;
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
            var batch = prompts.Skip(start).Take(BatchSize).ToArray();
            IReadOnlyList<GeneratedSequence> generated;
            lock (this) generated = generator.Generate(batch, Options);
            for (int i = 0; i < batch.Length; i++) result[start + i] = generated[i].Text ?? "";
        }
        return result;
    }

    public override object[][] Score(IReadOnlyList<string[]> rows) =>
        Generate(rows.Select(r => r[0]).ToArray()).Select(t => new object[] { t }).ToArray();
}
