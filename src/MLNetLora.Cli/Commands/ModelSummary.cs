using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Cli.Commands;

/// <summary>Rotary embedding settings as <c>inspect</c> reports them.</summary>
/// <param name="Type">The rope type, e.g. <c>default</c> or <c>llama3</c>.</param>
/// <param name="Theta">The base wavelength.</param>
/// <param name="Factor">The scaling factor, for scaled types.</param>
public sealed record RopeSummary(string Type, double Theta, double? Factor);

/// <summary>
/// What <c>inspect</c> reports about a model folder. Sizes come from config.json; the parameter count
/// and stored dtypes come from the safetensors headers, so no weight is loaded.
/// </summary>
/// <param name="Directory">The model folder.</param>
/// <param name="ModelType">config.json's <c>model_type</c>.</param>
/// <param name="Architectures">config.json's <c>architectures</c>.</param>
/// <param name="NumHiddenLayers">Decoder layers.</param>
/// <param name="HiddenSize">Residual stream width.</param>
/// <param name="NumAttentionHeads">Query heads.</param>
/// <param name="NumKeyValueHeads">Key/value heads.</param>
/// <param name="HeadDim">Width of each head.</param>
/// <param name="IntermediateSize">MLP hidden width.</param>
/// <param name="VocabSize">Embedding rows.</param>
/// <param name="Rope">Rotary embedding settings.</param>
/// <param name="TieWordEmbeddings">Whether the LM head shares the embedding matrix.</param>
/// <param name="MaxPositionEmbeddings">The configured context length.</param>
/// <param name="ParameterCount">Total elements of every stored tensor (a tied LM head is stored once).</param>
/// <param name="StoredDtypes">Elements per stored dtype code (e.g. <c>BF16</c>).</param>
/// <param name="ConfigDtype">The dtype config.json names, if any.</param>
/// <param name="WeightFiles">The safetensors files, relative to the folder.</param>
/// <param name="Tokenizer">The tokenizer, or null when the folder has none.</param>
public sealed record ModelSummary(
    string Directory, string ModelType, IReadOnlyList<string> Architectures,
    int NumHiddenLayers, int HiddenSize, int NumAttentionHeads, int NumKeyValueHeads, int HeadDim,
    int IntermediateSize, int VocabSize, RopeSummary Rope, bool TieWordEmbeddings, int MaxPositionEmbeddings,
    long ParameterCount, IReadOnlyDictionary<string, long> StoredDtypes, string? ConfigDtype,
    IReadOnlyList<string> WeightFiles, TokenizerSummary? Tokenizer)
{
    /// <summary>Reads a model folder's config, safetensors headers and tokenizer.</summary>
    /// <exception cref="CheckpointException">config.json or the weights are missing or malformed.</exception>
    public static ModelSummary Read(string modelDir)
    {
        var config = ModelConfig.Load(modelDir);
        long total = 0;
        var byDtype = new SortedDictionary<string, long>(StringComparer.Ordinal);
        IReadOnlyList<string> files;
        using (var checkpoint = ModelCheckpoint.Open(modelDir))
        {
            foreach (string name in checkpoint.Names)
            {
                var info = checkpoint.GetInfo(name);
                total += info.ElementCount;
                byDtype[info.DTypeCode] = byDtype.GetValueOrDefault(info.DTypeCode) + info.ElementCount;
            }
            files = checkpoint.Files.Select(Path.GetFileName).ToArray()!;
        }
        return new ModelSummary(
            Path.GetFullPath(modelDir), config.ModelType, config.Architectures,
            config.NumHiddenLayers, config.HiddenSize, config.NumAttentionHeads, config.NumKeyValueHeads, config.HeadDim,
            config.IntermediateSize, config.VocabSize, new RopeSummary(config.Rope.RopeType, config.Rope.Theta, config.Rope.Factor),
            config.TieWordEmbeddings, config.MaxPositionEmbeddings,
            total, byDtype, config.TorchDtype, files, TokenizerSummary.Read(modelDir));
    }
}
