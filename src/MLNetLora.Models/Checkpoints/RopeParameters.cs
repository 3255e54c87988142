namespace MLNetLora.Models.Checkpoints;

/// <summary>
/// Rotary position embedding settings, from either transformers 5's <c>rope_parameters</c> object or the older
/// top-level <c>rope_theta</c> plus <c>rope_scaling</c> object (whose type key is <c>rope_type</c> or <c>type</c>).
/// </summary>
public sealed record RopeParameters
{
    /// <summary>The transformers rope type: <c>default</c>, <c>linear</c>, <c>dynamic</c>, <c>llama3</c>, <c>yarn</c>, <c>longrope</c>, …</summary>
    public string RopeType { get; init; } = "default";

    /// <summary>The base wavelength θ (<c>rope_theta</c>); 10000 when the config omits it.</summary>
    public double Theta { get; init; } = 10_000;

    /// <summary>The scaling factor (<c>factor</c>) used by every type except <c>default</c>.</summary>
    public double? Factor { get; init; }

    /// <summary><c>low_freq_factor</c> of the <c>llama3</c> type.</summary>
    public double? LowFreqFactor { get; init; }

    /// <summary><c>high_freq_factor</c> of the <c>llama3</c> type.</summary>
    public double? HighFreqFactor { get; init; }

    /// <summary>
    /// The context length used in pre-training (<c>original_max_position_embeddings</c>), inside the RoPE object or,
    /// as Phi-3 writes it, at the top level of config.json (which takes priority, as in transformers).
    /// </summary>
    public int? OriginalMaxPositionEmbeddings { get; init; }

    /// <summary><c>attention_factor</c> of the <c>yarn</c> and <c>longrope</c> types.</summary>
    public double? AttentionFactor { get; init; }

    /// <summary><c>beta_fast</c> of <c>yarn</c> (default 32).</summary>
    public double? BetaFast { get; init; }

    /// <summary><c>beta_slow</c> of <c>yarn</c> (default 1).</summary>
    public double? BetaSlow { get; init; }

    /// <summary><c>mscale</c> of <c>yarn</c>.</summary>
    public double? MScale { get; init; }

    /// <summary><c>mscale_all_dim</c> of <c>yarn</c>.</summary>
    public double? MScaleAllDim { get; init; }

    /// <summary><c>truncate</c> of <c>yarn</c> (default true: the correction range is rounded to whole dimensions).</summary>
    public bool? Truncate { get; init; }

    /// <summary><c>short_factor</c> of <c>longrope</c>: per-pair divisors up to the original context length.</summary>
    public IReadOnlyList<double>? ShortFactor { get; init; }

    /// <summary><c>long_factor</c> of <c>longrope</c>: per-pair divisors beyond it.</summary>
    public IReadOnlyList<double>? LongFactor { get; init; }
}
