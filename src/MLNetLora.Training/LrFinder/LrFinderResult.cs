namespace MLNetLora.Training.LrFinder;

/// <summary>The curve of a learning-rate sweep and the rate it suggests.</summary>
public sealed record LrFinderResult
{
    /// <summary>Every recorded step, in sweep order.</summary>
    public required IReadOnlyList<LrFinderPoint> Curve { get; init; }

    /// <summary>Why the sweep ended.</summary>
    public required LrFinderStopReason StopReason { get; init; }

    /// <summary>The rate to train with; null when the curve does not support a suggestion (see <see cref="Reason"/>).</summary>
    public double? SuggestedRate { get; init; }

    /// <summary>The rate where the smoothed loss fell fastest per decade of rate.</summary>
    public double? SteepestRate { get; init; }

    /// <summary>The rate where the smoothed loss was lowest.</summary>
    public double? MinimumLossRate { get; init; }

    /// <summary>
    /// How far the smoothed loss fell, from the first point read to its minimum, as a fraction of the first (0.3 = 30%).
    /// Under <see cref="LrFinderOptions.ClearDescent"/> the curve shows no clear descent and the suggestion is a weak guess.
    /// </summary>
    public double Descent { get; init; }

    /// <summary>Whether the suggestion was lowered to <see cref="LrFinderOptions.MaxSuggestedRate"/>.</summary>
    public bool Capped { get; init; }

    /// <summary>How the suggestion was reached, or why there is none, in words for the log.</summary>
    public required string Reason { get; init; }
}
