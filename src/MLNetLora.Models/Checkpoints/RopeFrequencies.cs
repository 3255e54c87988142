namespace MLNetLora.Models.Checkpoints;

/// <summary>
/// The inverse frequencies of rotary position embeddings, computed as transformers' <c>ROPE_INIT_FUNCTIONS</c> do.
/// The angle of rotary pair <c>i</c> at position <c>p</c> is <c>p × InverseFrequencies[i]</c>; cos and sin are then
/// multiplied by <see cref="AttentionScaling"/>.
/// </summary>
/// <remarks>
/// transformers computes in float32 from the float32 exponents <c>(float)(2i) / dim</c>; these values use the same
/// float32 exponents but double arithmetic otherwise, so converting them to float matches transformers to within
/// about one float32 ulp.
/// </remarks>
/// <param name="InverseFrequencies">One frequency per rotated channel pair: <see cref="RotaryDim"/> / 2 values.</param>
/// <param name="AttentionScaling">Factor applied to cos and sin (1 for every type implemented here).</param>
/// <param name="RotaryDim">Number of leading channels of each head that are rotated.</param>
/// <param name="RopeType">The rope type the frequencies were computed for.</param>
public sealed record RopeFrequencies(double[] InverseFrequencies, double AttentionScaling, int RotaryDim, string RopeType)
{
    /// <summary>The rope types <see cref="Compute(ModelConfig, int?)"/> implements.</summary>
    public static IReadOnlyList<string> SupportedTypes { get; } = ["default", "linear", "dynamic", "llama3"];

    /// <summary>Computes the frequencies for a model config.</summary>
    /// <param name="config">The model config; its head_dim and partial_rotary_factor set the rotary dimension.</param>
    /// <param name="sequenceLength">Only for <c>dynamic</c>: the current sequence length; frequencies change only beyond max_position_embeddings.</param>
    /// <exception cref="NotSupportedException">The rope type is <c>yarn</c>, <c>longrope</c> or another type not in <see cref="SupportedTypes"/>.</exception>
    /// <exception cref="CheckpointException">A parameter the rope type needs (such as <c>factor</c>) is missing or invalid.</exception>
    public static RopeFrequencies Compute(ModelConfig config, int? sequenceLength = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var rope = config.Rope;
        int dim = config.RotaryDim;
        if (dim < 2 || dim % 2 != 0)
            throw new CheckpointException($"The rotary dimension head_dim × partial_rotary_factor = {config.HeadDim} × {config.PartialRotaryFactor} = {dim} must be even and at least 2.");
        var inverse = rope.RopeType switch
        {
            "default" => Default(rope.Theta, dim),
            "linear" => Linear(rope, dim),
            "dynamic" => Dynamic(rope, dim, config.MaxPositionEmbeddings, sequenceLength),
            "llama3" => Llama3(rope, dim, config.MaxPositionEmbeddings),
            "yarn" or "longrope" or "su" => throw new NotSupportedException(
                $"RoPE type '{rope.RopeType}' (used by long-context Phi-3 and Qwen variants) is not implemented. " +
                $"Supported types: {string.Join(", ", SupportedTypes)}. Use a checkpoint whose config.json uses one of these."),
            _ => throw new NotSupportedException(
                $"RoPE type '{rope.RopeType}' is not supported. Supported types: {string.Join(", ", SupportedTypes)}."),
        };
        return new RopeFrequencies(inverse, 1.0, dim, rope.RopeType);
    }

    /// <summary><c>1 / θ^(2i/dim)</c>, the original RoPE.</summary>
    internal static double[] Default(double theta, int dim)
    {
        var inverse = new double[dim / 2];
        for (int i = 0; i < inverse.Length; i++)
        {
            // transformers divides a float32 arange by dim in float32; rounding the exponent the same way matters
            // more than the pow precision: an exponent off by 2^-24 moves 1/θ^e by several float32 ulps.
            float exponent = (float)(2 * i) / dim;
            inverse[i] = 1.0 / Math.Pow(theta, exponent);
        }
        return inverse;
    }

    private static double[] Linear(RopeParameters rope, int dim)
    {
        double factor = Require(rope.Factor, "factor", rope.RopeType);
        return Default(rope.Theta, dim).Select(f => f / factor).ToArray();
    }

    private static double[] Dynamic(RopeParameters rope, int dim, int maxPositions, int? sequenceLength)
    {
        double factor = Require(rope.Factor, "factor", rope.RopeType);
        double length = Math.Max(sequenceLength ?? maxPositions, maxPositions);
        double theta = rope.Theta * Math.Pow(factor * length / maxPositions - (factor - 1), (double)dim / (dim - 2));
        return Default(theta, dim);
    }

    private static double[] Llama3(RopeParameters rope, int dim, int maxPositions)
    {
        double factor = Require(rope.Factor, "factor", rope.RopeType);
        double low = Require(rope.LowFreqFactor, "low_freq_factor", rope.RopeType);
        double high = Require(rope.HighFreqFactor, "high_freq_factor", rope.RopeType);
        if (high <= low)
            throw new CheckpointException($"RoPE type 'llama3' needs high_freq_factor ({high}) greater than low_freq_factor ({low}).");
        // transformers 5 falls back to max_position_embeddings when the original context length is not given.
        double originalContext = rope.OriginalMaxPositionEmbeddings ?? maxPositions;
        double lowFreqWavelen = originalContext / low;
        double highFreqWavelen = originalContext / high;
        var inverse = Default(rope.Theta, dim);
        for (int i = 0; i < inverse.Length; i++)
        {
            double wavelen = 2 * Math.PI / inverse[i];
            if (wavelen < highFreqWavelen) continue;
            if (wavelen > lowFreqWavelen)
            {
                inverse[i] /= factor;
                continue;
            }
            double smooth = (originalContext / wavelen - low) / (high - low);
            inverse[i] = (1 - smooth) * inverse[i] / factor + smooth * inverse[i];
        }
        return inverse;
    }

    private static double Require(double? value, string key, string ropeType) =>
        value ?? throw new CheckpointException(
            $"RoPE type '{ropeType}' needs '{key}' in config.json's rope_parameters (or rope_scaling), but it is missing. Use the config.json that came with the checkpoint.");
}
