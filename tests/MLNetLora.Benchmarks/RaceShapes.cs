using MLNetLora.Models.Transformer;

namespace MLNetLora.Benchmarks;

/// <summary>
/// The model shapes of the GPU race, the same as <c>peft_reference.py</c>'s (random init, no downloads), plus a tiny one
/// for a dry run of the whole script on a CPU.
/// </summary>
internal static class RaceShapes
{
    public static readonly IReadOnlyList<string> Names = ["smollm2-135m", "llama3.2-1b", "tiny"];

    /// <summary>The shape by name; RoPE theta 500,000 as in the Python side.</summary>
    /// <exception cref="ArgumentException">An unknown name.</exception>
    public static DecoderSpec Spec(string name, int maxPositions) => name switch
    {
        "smollm2-135m" => Llama(576, 1536, 30, 9, 3, 49152, tied: true, maxPositions),
        "llama3.2-1b" => Llama(2048, 8192, 16, 32, 8, 128256, tied: true, maxPositions),
        "tiny" => Llama(128, 344, 2, 4, 2, 2048, tied: true, maxPositions),
        _ => throw new ArgumentException($"Unknown shape '{name}'; use one of {string.Join(", ", Names)}."),
    };

    private static DecoderSpec Llama(int hidden, int inter, int layers, int heads, int kvHeads, int vocab, bool tied, int maxPositions)
    {
        int headDim = hidden / heads;
        var inv = Enumerable.Range(0, headDim / 2).Select(i => 1.0 / Math.Pow(500000, 2.0 * i / headDim)).ToArray();
        return new DecoderSpec(Architecture.Llama, hidden, inter, layers, heads, kvHeads, headDim, vocab, 1e-5,
            TiedEmbeddings: tied, QkvBias: false, QkNorm: false, FusedProjections: false, inv, 1.0, maxPositions);
    }
}
