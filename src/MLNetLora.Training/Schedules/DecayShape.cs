using System.Text.Json.Serialization;

namespace MLNetLora.Training.Schedules;

/// <summary>The decay phase of <see cref="ScheduleKind.WarmupStableDecay"/> (transformers' <c>decay_type</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DecayShape>))]
public enum DecayShape
{
    /// <summary>Multiplier <c>1 - progress</c>.</summary>
    [JsonStringEnumMemberName("linear")] Linear,

    /// <summary>Multiplier <c>0.5 * (1 + cos(pi * num_cycles * 2 * progress))</c>.</summary>
    [JsonStringEnumMemberName("cosine")] Cosine,

    /// <summary>Multiplier <c>1 - sqrt(progress)</c>.</summary>
    [JsonStringEnumMemberName("1-sqrt")] OneMinusSqrt,
}
