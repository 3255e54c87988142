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
/// <param name="AttentionScaling">Factor applied to cos and sin (1 except for yarn and longrope).</param>
/// <param name="RotaryDim">Number of leading channels of each head that are rotated.</param>
/// <param name="RopeType">The rope type the frequencies were computed for.</param>
/// <param name="LongInverseFrequencies"><c>longrope</c> only: the frequencies used when a forward's positions pass <see cref="LongThreshold"/>.</param>
/// <param name="LongThreshold"><c>longrope</c> only: the original context length; longer sequences use <see cref="LongInverseFrequencies"/>.</param>
public sealed record RopeFrequencies(double[] InverseFrequencies, double AttentionScaling, int RotaryDim, string RopeType,
    double[]? LongInverseFrequencies = null, int? LongThreshold = null)
{
    /// <summary>The rope types <see cref="Compute(ModelConfig, int?)"/> implements.</summary>
    public static IReadOnlyList<string> SupportedTypes { get; } = ["default", "linear", "dynamic", "llama3", "yarn", "longrope"];

    /// <summary>Computes the frequencies for a model config.</summary>
    /// <param name="config">The model config; its head_dim and partial_rotary_factor set the rotary dimension.</param>
    /// <param name="sequenceLength">Only for <c>dynamic</c>: the current sequence length; frequencies change only beyond max_position_embeddings.</param>
    /// <exception cref="NotSupportedException">The rope type is not in <see cref="SupportedTypes"/>.</exception>
    /// <exception cref="CheckpointException">A parameter the rope type needs (such as <c>factor</c>) is missing or invalid.</exception>
    public static RopeFrequencies Compute(ModelConfig config, int? sequenceLength = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var rope = config.Rope;
        int dim = config.RotaryDim;
        if (dim < 2 || dim % 2 != 0)
            throw new CheckpointException($"The rotary dimension head_dim × partial_rotary_factor = {config.HeadDim} × {config.PartialRotaryFactor} = {dim} must be even and at least 2.");
        if (rope.RopeType == "yarn") return Yarn(rope, dim, config.MaxPositionEmbeddings);
        if (rope.RopeType is "longrope" or "su") return LongRope(rope, dim, config.MaxPositionEmbeddings);
        var inverse = rope.RopeType switch
        {
            "default" => Default(rope.Theta, dim),
            "linear" => Linear(rope, dim),
            "dynamic" => Dynamic(rope, dim, config.MaxPositionEmbeddings, sequenceLength),
            "llama3" => Llama3(rope, dim, config.MaxPositionEmbeddings),
            _ => throw new NotSupportedException(
                $"RoPE type '{rope.RopeType}' is not supported. Supported types: {string.Join(", ", SupportedTypes)}."),
        };
        return new RopeFrequencies(inverse, 1.0, dim, rope.RopeType);
    }

    // transformers' _compute_yarn_parameters: interpolate the low frequencies by factor, keep the high
    // ones, ramp linearly between the correction dimensions of beta_fast and beta_slow rotations, and
    // scale cos/sin by the attention factor (0.1·ln(factor) + 1 unless given).
    private static RopeFrequencies Yarn(RopeParameters rope, int dim, int maxPositions)
    {
        double original = rope.OriginalMaxPositionEmbeddings ?? maxPositions;
        // transformers 5: without factor, the ratio of max_position_embeddings to the original context (DeepSeek-V3 style).
        double factor = rope.Factor ?? (rope.OriginalMaxPositionEmbeddings is int o ? (double)maxPositions / o : Require(rope.Factor, "factor", "yarn"));
        static double MScale(double scale, double m = 1) => scale <= 1 ? 1.0 : 0.1 * m * Math.Log(scale) + 1.0;
        double attention = rope.AttentionFactor
            ?? (rope.MScale is double ms && rope.MScaleAllDim is double msa && ms != 0 && msa != 0 ? MScale(factor, ms) / MScale(factor, msa) : MScale(factor));
        double betaFast = rope.BetaFast ?? 32, betaSlow = rope.BetaSlow ?? 1;
        double CorrectionDim(double rotations) => dim * Math.Log(original / (rotations * 2 * Math.PI)) / (2 * Math.Log(rope.Theta));
        double low = CorrectionDim(betaFast), high = CorrectionDim(betaSlow);
        if (rope.Truncate ?? true) (low, high) = (Math.Floor(low), Math.Ceiling(high));
        (low, high) = (Math.Max(low, 0), Math.Min(high, dim - 1));
        if (low == high) high += 0.001;
        var extrapolation = Default(rope.Theta, dim);
        var inverse = new double[dim / 2];
        for (int i = 0; i < inverse.Length; i++)
        {
            double ramp = Math.Clamp((i - low) / (high - low), 0, 1);
            double extrapolationFactor = 1 - ramp;
            inverse[i] = extrapolation[i] / factor * (1 - extrapolationFactor) + extrapolation[i] * extrapolationFactor;
        }
        return new RopeFrequencies(inverse, attention, dim, "yarn");
    }

    // transformers' _compute_longrope_parameters: per-pair divisors (short_factor up to the original
    // context, long_factor beyond; the switch is made per forward by the largest position) and the
    // attention factor sqrt(1 + ln(factor) / ln(original)).
    private static RopeFrequencies LongRope(RopeParameters rope, int dim, int maxPositions)
    {
        var shortFactor = rope.ShortFactor ?? throw Missing("short_factor");
        var longFactor = rope.LongFactor ?? throw Missing("long_factor");
        if (shortFactor.Count != dim / 2 || longFactor.Count != dim / 2)
            throw new CheckpointException($"RoPE type 'longrope' needs {dim / 2} short_factor and long_factor values (one per rotary pair), got {shortFactor.Count} and {longFactor.Count}.");
        int original = rope.OriginalMaxPositionEmbeddings ?? maxPositions;
        double factor = rope.Factor ?? (double)maxPositions / original;
        double attention = rope.AttentionFactor ?? (factor <= 1 ? 1.0 : Math.Sqrt(1 + Math.Log(factor) / Math.Log(original)));
        var baseInverse = Default(rope.Theta, dim);
        double[] With(IReadOnlyList<double> f) => baseInverse.Select((b, i) => b / f[i]).ToArray();
        return new RopeFrequencies(With(shortFactor), attention, dim, "longrope", With(longFactor), original);
    }

    private static CheckpointException Missing(string key) =>
        new($"RoPE type 'longrope' needs '{key}' in config.json's rope_scaling, but it is missing. Use the config.json that came with the checkpoint.");

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
