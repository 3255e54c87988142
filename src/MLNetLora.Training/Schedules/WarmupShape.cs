using System.Text.Json.Serialization;

namespace MLNetLora.Training.Schedules;

/// <summary>
/// How the rate climbs to the peak during warmup. Every shape reaches exactly the peak multiplier 1
/// at the first step after warmup, so the decay that follows starts without a jump.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<WarmupShape>))]
public enum WarmupShape
{
    /// <summary>transformers' warmup: multiplier <c>step / max(1, warmup)</c>, so step 0 trains at rate 0.</summary>
    [JsonStringEnumMemberName("linear")] Linear,

    /// <summary>
    /// Geometric: multiplier <c>start^(1 - step / warmup)</c> with <c>start</c> =
    /// <see cref="ScheduleOptions.ExponentialWarmupStart"/>. The rate grows by the same factor every
    /// step, which spends more of the warmup at small rates than a line does.
    /// </summary>
    [JsonStringEnumMemberName("exponential")] Exponential,

    /// <summary>transformers' WSD "cosine" warmup: <c>0.5 * (1 - cos(pi * step / warmup))</c>.</summary>
    [JsonStringEnumMemberName("cosine")] Cosine,

    /// <summary>transformers' WSD "1-sqrt" warmup: <c>1 - sqrt(1 - step / warmup)</c>.</summary>
    [JsonStringEnumMemberName("1-sqrt")] OneMinusSqrt,
}
