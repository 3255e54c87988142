namespace MLNetLora.Models.Tokenization;

/// <summary>
/// A rectangular batch of token ids, row-major <c>[BatchSize, SequenceLength]</c>, ready to copy into
/// <c>int64</c> tensors. Made by <see cref="HfTokenizer.EncodeBatch"/>.
/// </summary>
public sealed class TokenBatch
{
    private TokenBatch(int batchSize, int sequenceLength, long[] inputIds, long[] attentionMask, int[] lengths, PaddingSide side)
    {
        BatchSize = batchSize;
        SequenceLength = sequenceLength;
        InputIds = inputIds;
        AttentionMask = attentionMask;
        Lengths = lengths;
        PaddingSide = side;
    }

    /// <summary>Number of rows.</summary>
    public int BatchSize { get; }

    /// <summary>Number of columns: the longest row after truncation.</summary>
    public int SequenceLength { get; }

    /// <summary>Token ids, <c>BatchSize * SequenceLength</c> values; padding positions hold the pad id.</summary>
    public long[] InputIds { get; }

    /// <summary>1 where <see cref="InputIds"/> holds a real token, 0 at padding; same layout.</summary>
    public long[] AttentionMask { get; }

    /// <summary>Number of real tokens in each row.</summary>
    public int[] Lengths { get; }

    /// <summary>Which end of each row was padded.</summary>
    public PaddingSide PaddingSide { get; }

    /// <summary>
    /// Truncates each row to its first <paramref name="maxLength"/> ids and pads all rows to the longest one.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="rows"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is less than 1.</exception>
    internal static TokenBatch Pad(IReadOnlyList<int[]> rows, int maxLength, PaddingSide side, int padId)
    {
        if (rows.Count == 0) throw new ArgumentException("A batch needs at least one text.", nameof(rows));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);

        var lengths = new int[rows.Count];
        int width = 0;
        for (int r = 0; r < rows.Count; r++)
        {
            lengths[r] = Math.Min(rows[r].Length, maxLength);
            width = Math.Max(width, lengths[r]);
        }

        var ids = new long[rows.Count * width];
        var mask = new long[rows.Count * width];
        Array.Fill(ids, padId);
        for (int r = 0; r < rows.Count; r++)
        {
            int start = r * width + (side == PaddingSide.Left ? width - lengths[r] : 0);
            for (int i = 0; i < lengths[r]; i++)
            {
                ids[start + i] = rows[r][i];
                mask[start + i] = 1;
            }
        }
        return new TokenBatch(rows.Count, width, ids, mask, lengths, side);
    }
}
