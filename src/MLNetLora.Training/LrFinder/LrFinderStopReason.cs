namespace MLNetLora.Training.LrFinder;

/// <summary>Why the sweep ended, or that it has not.</summary>
public enum LrFinderStopReason
{
    /// <summary>The sweep is still going.</summary>
    Running,

    /// <summary>Every step of the sweep was run.</summary>
    Completed,

    /// <summary>The smoothed loss exceeded <see cref="LrFinderOptions.DivergenceFactor"/> times its best value.</summary>
    Diverged,

    /// <summary>A loss was NaN or infinite.</summary>
    NonFiniteLoss,
}
