using System.Globalization;

namespace MLNetLora.Training.Defaults;

/// <summary>How a batch size is counted.</summary>
public enum BatchUnit
{
    /// <summary>Examples (sequences) per optimizer step.</summary>
    Sequences,

    /// <summary>Tokens per optimizer step.</summary>
    Tokens,
}

/// <summary>
/// The effective batch of one optimizer step: per-device batch times gradient-accumulation steps times
/// devices, counted in sequences or in tokens.
/// </summary>
public readonly record struct BatchSize
{
    private BatchSize(long count, BatchUnit unit)
    {
        Count = count;
        Unit = unit;
    }

    /// <summary>The number of sequences or tokens.</summary>
    public long Count { get; }

    /// <summary>What <see cref="Count"/> counts.</summary>
    public BatchUnit Unit { get; }

    /// <summary>A batch of <paramref name="count"/> sequences.</summary>
    /// <param name="count">Sequences per optimizer step; must be positive.</param>
    /// <returns>The batch size.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is zero or negative.</exception>
    public static BatchSize OfSequences(long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return new BatchSize(count, BatchUnit.Sequences);
    }

    /// <summary>A batch of <paramref name="count"/> tokens.</summary>
    /// <param name="count">Tokens per optimizer step; must be positive.</param>
    /// <returns>The batch size.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is zero or negative.</exception>
    public static BatchSize OfTokens(long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return new BatchSize(count, BatchUnit.Tokens);
    }

    /// <summary>For example "64 sequences" or "32,768 tokens".</summary>
    /// <returns>The count and its unit.</returns>
    public override string ToString() =>
        Count.ToString("N0", CultureInfo.InvariantCulture) + (Unit == BatchUnit.Tokens ? " tokens" : " sequences");
}
