using System.Diagnostics.CodeAnalysis;

namespace MLNetLora.Training.Schedules;

/// <summary>
/// Converts between <see cref="ScheduleKind"/> and the command-line names (<c>cosine_with_restarts</c>,
/// <c>one_cycle</c>, ...). Parsing ignores case and accepts <c>-</c> for <c>_</c>, and also takes
/// transformers' spelling <c>reduce_lr_on_plateau</c> and the short form <c>wsd</c>.
/// </summary>
public static class ScheduleKindNames
{
    private static readonly (string Name, ScheduleKind Kind)[] Canonical =
    [
        ("constant", ScheduleKind.Constant),
        ("constant_with_warmup", ScheduleKind.ConstantWithWarmup),
        ("linear", ScheduleKind.Linear),
        ("cosine", ScheduleKind.Cosine),
        ("cosine_with_restarts", ScheduleKind.CosineWithRestarts),
        ("polynomial", ScheduleKind.Polynomial),
        ("inverse_sqrt", ScheduleKind.InverseSqrt),
        ("cosine_with_min_lr", ScheduleKind.CosineWithMinRate),
        ("warmup_stable_decay", ScheduleKind.WarmupStableDecay),
        ("one_cycle", ScheduleKind.OneCycle),
        ("reduce_on_plateau", ScheduleKind.ReduceOnPlateau),
    ];

    private static readonly (string Name, ScheduleKind Kind)[] Aliases =
    [
        ("reduce_lr_on_plateau", ScheduleKind.ReduceOnPlateau),
        ("wsd", ScheduleKind.WarmupStableDecay),
        ("onecycle", ScheduleKind.OneCycle),
    ];

    /// <summary>Every canonical command-line name, in declaration order (for help text).</summary>
    public static IReadOnlyList<string> All { get; } = Canonical.Select(c => c.Name).ToArray();

    /// <summary>The canonical command-line name of <paramref name="kind"/>.</summary>
    /// <param name="kind">A schedule kind.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is not a defined value.</exception>
    public static string ToName(ScheduleKind kind)
    {
        foreach (var (name, k) in Canonical)
            if (k == kind) return name;
        throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown schedule kind.");
    }

    /// <summary>Parses a command-line schedule name.</summary>
    /// <param name="name">For example <c>cosine</c> or <c>cosine-with-restarts</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="FormatException">The name is not a known schedule; the message lists the known ones.</exception>
    public static ScheduleKind Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (TryParse(name, out var kind)) return kind;
        throw new FormatException($"Unknown learning-rate schedule '{name}'. Known: {string.Join(", ", All)}.");
    }

    /// <summary>Parses a command-line schedule name without throwing.</summary>
    /// <param name="name">The name to parse; null or blank fails.</param>
    /// <param name="kind">The parsed kind when the call returns true.</param>
    /// <returns>Whether <paramref name="name"/> names a schedule.</returns>
    public static bool TryParse([NotNullWhen(true)] string? name, out ScheduleKind kind)
    {
        kind = default;
        if (string.IsNullOrWhiteSpace(name)) return false;
        string key = name.Trim().Replace('-', '_').ToLowerInvariant();
        foreach (var (n, k) in Canonical.Concat(Aliases))
        {
            if (n != key) continue;
            kind = k;
            return true;
        }
        return false;
    }
}
