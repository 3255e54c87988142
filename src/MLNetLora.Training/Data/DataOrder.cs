using MLNetLora.LibTorch;

namespace MLNetLora.Training.Data;

/// <summary>
/// The order examples are visited in each epoch: a pure function of (seed, epoch), so a resumed run
/// can rebuild the exact order and skip to where it stopped.
/// </summary>
public static class DataOrder
{
    /// <summary>Indices of <paramref name="count"/> examples for <paramref name="epoch"/>.</summary>
    public static int[] ForEpoch(int count, ulong seed, int epoch, bool shuffle)
    {
        if (!shuffle) return Enumerable.Range(0, count).ToArray();
        var g = new Generator(seed * 1_000_003UL + (ulong)epoch);
        return g.Permutation(count);
    }
}
