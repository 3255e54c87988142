using MLNetLora.LibTorch;
using MLNetLora.Training.Data;

namespace MLNetLora.Tests.Training;

/// <summary>The toy data the trainer tests learn, and a progress sink that reports on the training thread.</summary>
internal static class TrainingRows
{
    /// <summary>A learnable toy language: each row counts upward from a random start (mod <paramref name="vocab"/>).</summary>
    /// <param name="ragged">Shorten rows by 0-2 tokens at random, to exercise padding.</param>
    public static List<TrainingExample> Counting(int rows, int length, ulong seed, int vocab = 37, bool ragged = false)
    {
        var g = new Generator(seed);
        return Enumerable.Range(0, rows).Select(_ =>
        {
            int start = (int)g.NextInt64(vocab);
            int len = ragged ? length - (int)g.NextInt64(3) : length;
            return new TrainingExample(Enumerable.Range(0, len).Select(i => (start + i) % vocab).ToArray());
        }).ToList();
    }
}

/// <summary>IProgress that reports synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
