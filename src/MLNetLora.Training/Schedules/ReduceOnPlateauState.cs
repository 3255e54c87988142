namespace MLNetLora.Training.Schedules;

/// <summary>
/// The mutable part of a <see cref="ReduceOnPlateauSchedule"/>, for checkpoints. Together with the
/// schedule's <see cref="ILearningRateSchedule.Options"/> it restores the exact rate and the exact
/// future reductions. It serializes with <c>System.Text.Json</c> (no infinities: "no baseline yet"
/// is a null <see cref="Best"/>).
/// </summary>
public sealed record ReduceOnPlateauState
{
    /// <summary>The rate in force.</summary>
    public double LearningRate { get; init; }

    /// <summary>The best metric reported so far; null before the first report.</summary>
    public double? Best { get; init; }

    /// <summary>Consecutive reports without improvement (PyTorch's <c>num_bad_epochs</c>).</summary>
    public int BadReports { get; init; }

    /// <summary>Reports left in the cooldown after the last reduction.</summary>
    public int CooldownCounter { get; init; }

    /// <summary>Reports received so far (PyTorch's <c>last_epoch</c>).</summary>
    public long Reports { get; init; }
}
