namespace MLNetLora.Models.Transformer;

/// <summary>Which base weights full fine-tuning leaves frozen; everything else gets a gradient.</summary>
public sealed record FullTuningSettings
{
    /// <summary>Keep the token embeddings (and, when tied, the LM head that shares them) frozen.</summary>
    public bool FreezeEmbeddings { get; init; }

    /// <summary>Keep the first N decoder layers frozen (0 trains all of them).</summary>
    public int FreezeLayers { get; init; }
}
