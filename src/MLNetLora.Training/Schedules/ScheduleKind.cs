using System.Text.Json.Serialization;

namespace MLNetLora.Training.Schedules;

/// <summary>
/// The family of a learning-rate curve. The JSON names are the command-line names, which are
/// transformers' <c>lr_scheduler_type</c> values where transformers has the schedule, so a run
/// configured for one tool reads the same in the other.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<ScheduleKind>))]
public enum ScheduleKind
{
    /// <summary>The peak rate at every step; any warmup is ignored, as in transformers.</summary>
    [JsonStringEnumMemberName("constant")] Constant,

    /// <summary>Warmup, then the peak rate for the rest of the run.</summary>
    [JsonStringEnumMemberName("constant_with_warmup")] ConstantWithWarmup,

    /// <summary>Warmup, then a straight line from the peak down to zero at the last step.</summary>
    [JsonStringEnumMemberName("linear")] Linear,

    /// <summary>Warmup, then a half cosine from the peak down to zero (by default).</summary>
    [JsonStringEnumMemberName("cosine")] Cosine,

    /// <summary>Warmup, then several cosine decays, each restarting at the peak.</summary>
    [JsonStringEnumMemberName("cosine_with_restarts")] CosineWithRestarts,

    /// <summary>Warmup, then a polynomial decay from the peak to an end rate.</summary>
    [JsonStringEnumMemberName("polynomial")] Polynomial,

    /// <summary>Warmup, then a decay proportional to one over the square root of the step.</summary>
    [JsonStringEnumMemberName("inverse_sqrt")] InverseSqrt,

    /// <summary>Warmup, then a cosine decay that ends at a floor instead of zero.</summary>
    [JsonStringEnumMemberName("cosine_with_min_lr")] CosineWithMinRate,

    /// <summary>Warmup, a long stable phase at the peak, then a short decay (WSD).</summary>
    [JsonStringEnumMemberName("warmup_stable_decay")] WarmupStableDecay,

    /// <summary>PyTorch's <c>OneCycleLR</c>: up from peak/div_factor to the peak, then far below.</summary>
    [JsonStringEnumMemberName("one_cycle")] OneCycle,

    /// <summary>PyTorch's <c>ReduceLROnPlateau</c>: constant until the validation loss stalls.</summary>
    [JsonStringEnumMemberName("reduce_on_plateau")] ReduceOnPlateau,
}
