using System.Text.Json.Serialization;

namespace MLNetLora.Training.Schedules;

/// <summary>
/// Parameters of <see cref="ScheduleKind.OneCycle"/>, with PyTorch <c>OneCycleLR</c>'s names and
/// defaults. The peak is <see cref="ScheduleOptions.LearningRate"/> (<c>max_lr</c>).
/// </summary>
public sealed record OneCycleOptions
{
    /// <summary>Fraction of the steps spent rising to the peak. Default 0.3.</summary>
    public double PctStart { get; init; } = 0.3;

    /// <summary>The start rate is <c>peak / DivFactor</c>. Default 25.</summary>
    public double DivFactor { get; init; } = 25.0;

    /// <summary>The final rate is <c>start / FinalDivFactor</c>. Default 1e4.</summary>
    public double FinalDivFactor { get; init; } = 1e4;

    /// <summary>
    /// When true, fall back to the start rate symmetrically before annealing to the final rate (the
    /// original paper); when false (default), fall from the peak straight to the final rate (fastai).
    /// </summary>
    public bool ThreePhase { get; init; }

    /// <summary>The curve between phase ends. Default <see cref="OneCycleAnneal.Cosine"/>.</summary>
    public OneCycleAnneal Anneal { get; init; } = OneCycleAnneal.Cosine;
}

/// <summary>PyTorch <c>OneCycleLR</c>'s <c>anneal_strategy</c>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<OneCycleAnneal>))]
public enum OneCycleAnneal
{
    /// <summary><c>end + (start - end) / 2 * (cos(pi * pct) + 1)</c>.</summary>
    [JsonStringEnumMemberName("cos")] Cosine,

    /// <summary><c>(end - start) * pct + start</c>.</summary>
    [JsonStringEnumMemberName("linear")] Linear,
}
