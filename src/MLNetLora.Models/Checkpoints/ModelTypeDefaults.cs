namespace MLNetLora.Models.Checkpoints;

/// <summary>
/// What transformers' config class for each supported <c>model_type</c> uses when a key is absent from config.json,
/// for the keys whose defaults differ between architectures.
/// </summary>
/// <param name="ModelType">The <c>model_type</c> value.</param>
/// <param name="RmsNormEps">Default <c>rms_norm_eps</c>.</param>
/// <param name="MaxPositionEmbeddings">Default <c>max_position_embeddings</c>.</param>
/// <param name="HeadDim">Default <c>head_dim</c>, or null for hidden_size / num_attention_heads.</param>
/// <param name="HasSlidingWindow">Whether the architecture's attention honours <c>sliding_window</c> at all.</param>
/// <param name="SlidingWindow">Default <c>sliding_window</c> when the key is absent.</param>
/// <param name="SlidingWindowNeedsFlag">Whether the window applies only when <c>use_sliding_window</c> is true (Qwen).</param>
internal sealed record ModelTypeDefaults(
    string ModelType, double RmsNormEps, int MaxPositionEmbeddings, int? HeadDim,
    bool HasSlidingWindow, int? SlidingWindow, bool SlidingWindowNeedsFlag)
{
    /// <summary>Qwen's default <c>max_window_layers</c>: layers from this index on use the sliding window.</summary>
    public const int QwenMaxWindowLayers = 28;

    private static readonly ModelTypeDefaults[] All =
    [
        new("llama", 1e-6, 2048, null, HasSlidingWindow: false, null, false),
        new("mistral", 1e-6, 4096 * 32, null, HasSlidingWindow: true, 4096, false),
        new("qwen2", 1e-6, 32768, null, HasSlidingWindow: true, 4096, true),
        new("qwen3", 1e-6, 32768, 128, HasSlidingWindow: true, 4096, true),
        new("phi3", 1e-5, 4096, null, HasSlidingWindow: true, null, false),
    ];

    /// <summary>The supported <c>model_type</c> values.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = All.Select(d => d.ModelType).ToArray();

    /// <summary>The defaults for a model type, or null when it is not supported.</summary>
    public static ModelTypeDefaults? For(string modelType) => All.FirstOrDefault(d => d.ModelType == modelType);
}
