using System.Text.Json.Serialization;

namespace MLNetLora.Training.Schedules;

/// <summary>
/// Parameters of <see cref="ScheduleKind.ReduceOnPlateau"/>, with PyTorch <c>ReduceLROnPlateau</c>'s
/// names and defaults. The starting rate is <see cref="ScheduleOptions.LearningRate"/>; one "epoch" in
/// PyTorch's wording is one call to <see cref="ReduceOnPlateauSchedule.Report"/>.
/// </summary>
public sealed record ReduceOnPlateauOptions
{
    /// <summary>Whether a lower (<see cref="PlateauMode.Min"/>, default) or higher metric is better.</summary>
    public PlateauMode Mode { get; init; } = PlateauMode.Min;

    /// <summary>Multiplier applied on a plateau; must be in (0, 1). Default 0.1.</summary>
    public double Factor { get; init; } = 0.1;

    /// <summary>Reports without improvement tolerated before the rate drops. Default 10.</summary>
    public int Patience { get; init; } = 10;

    /// <summary>How much better a report must be to count as an improvement. Default 1e-4.</summary>
    public double Threshold { get; init; } = 1e-4;

    /// <summary>Whether <see cref="Threshold"/> is relative to the best value (default) or absolute.</summary>
    public PlateauThresholdMode ThresholdMode { get; init; } = PlateauThresholdMode.Relative;

    /// <summary>Reports after a drop during which bad reports are not counted. Default 0.</summary>
    public int Cooldown { get; init; }

    /// <summary>The rate never drops below this. Default 0.</summary>
    public double MinRate { get; init; }

    /// <summary>A drop smaller than this is not applied (PyTorch's <c>eps</c>). Default 1e-8.</summary>
    public double Eps { get; init; } = 1e-8;
}

/// <summary>Which direction of the reported metric is an improvement.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PlateauMode>))]
public enum PlateauMode
{
    /// <summary>Lower is better (losses).</summary>
    [JsonStringEnumMemberName("min")] Min,

    /// <summary>Higher is better (accuracies).</summary>
    [JsonStringEnumMemberName("max")] Max,
}

/// <summary>How <see cref="ReduceOnPlateauOptions.Threshold"/> is applied.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PlateauThresholdMode>))]
public enum PlateauThresholdMode
{
    /// <summary>Better means beyond <c>best * (1 -/+ threshold)</c>.</summary>
    [JsonStringEnumMemberName("rel")] Relative,

    /// <summary>Better means beyond <c>best -/+ threshold</c>.</summary>
    [JsonStringEnumMemberName("abs")] Absolute,
}
