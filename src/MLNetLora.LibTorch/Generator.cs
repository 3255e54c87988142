namespace MLNetLora.LibTorch;

/// <summary>
/// A seeded random generator for initialisation, dropout masks and data order. It is the 32-bit
/// Mersenne Twister that PyTorch's CPU generator uses, and <see cref="FillUniform"/> maps draws to
/// floats the way <c>torch.Tensor.uniform_</c> does for float32 (24 random bits per value), so
/// the sequence is reproducible across runs and machines. Its state can be saved for checkpoints.
/// </summary>
public sealed class Generator
{
    private const int N = 624, M = 397;
    private readonly uint[] mt = new uint[N];
    private int index;
    private double? spareNormal;

    /// <summary>Creates a generator seeded like <c>torch.manual_seed(seed)</c>.</summary>
    public Generator(ulong seed) => Reseed(seed);

    /// <summary>The seed this generator started from.</summary>
    public ulong Seed { get; private set; }

    /// <summary>Restarts the sequence from <paramref name="seed"/>.</summary>
    public void Reseed(ulong seed)
    {
        Seed = seed;
        mt[0] = (uint)(seed & 0xFFFFFFFF);
        for (int i = 1; i < N; i++) mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + (uint)i;
        index = N;
        spareNormal = null;
    }

    /// <summary>The next 32 random bits.</summary>
    public uint NextUInt32()
    {
        if (index >= N) Twist();
        uint y = mt[index++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9D2C5680u;
        y ^= (y << 15) & 0xEFC60000u;
        y ^= y >> 18;
        return y;
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble()
    {
        ulong hi = NextUInt32(), lo = NextUInt32();
        return (((hi << 32) | lo) & ((1UL << 53) - 1)) * (1.0 / (1UL << 53));
    }

    /// <summary>A uniform integer in [0, <paramref name="n"/>).</summary>
    public long NextInt64(long n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        ulong limit = ulong.MaxValue - (ulong.MaxValue % (ulong)n);
        ulong r;
        do r = ((ulong)NextUInt32() << 32) | NextUInt32(); while (r >= limit);
        return (long)(r % (ulong)n);
    }

    /// <summary>Fills with uniform floats in [<paramref name="from"/>, <paramref name="to"/>), as float32 <c>uniform_</c> does.</summary>
    public void FillUniform(Span<float> values, float from, float to)
    {
        for (int i = 0; i < values.Length; i++)
        {
            double x = (NextUInt32() & ((1u << 24) - 1)) * (1.0 / (1 << 24));
            values[i] = (float)(x * ((double)to - from) + from);
        }
    }

    /// <summary>Fills with standard normal samples (Box–Muller).</summary>
    public void FillNormal(Span<double> values)
    {
        for (int i = 0; i < values.Length; i++) values[i] = NextNormal();
    }

    /// <summary>One standard normal sample.</summary>
    public double NextNormal()
    {
        if (spareNormal is double s)
        {
            spareNormal = null;
            return s;
        }
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        spareNormal = r * Math.Sin(2 * Math.PI * u2);
        return r * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>A Fisher–Yates permutation of <c>0..n-1</c>.</summary>
    public int[] Permutation(int n)
    {
        var p = Enumerable.Range(0, n).ToArray();
        for (int i = n - 1; i > 0; i--)
        {
            int j = (int)NextInt64(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    /// <summary>The full state, for checkpoints.</summary>
    public GeneratorState SaveState() => new(Seed, (uint[])mt.Clone(), index, spareNormal);

    /// <summary>Restores a state from <see cref="SaveState"/>.</summary>
    public void RestoreState(GeneratorState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Mt.Length != N) throw new ArgumentException($"A generator state has {N} words; this one has {state.Mt.Length}.", nameof(state));
        Seed = state.Seed;
        state.Mt.CopyTo(mt, 0);
        index = state.Index;
        spareNormal = state.SpareNormal;
    }

    private void Twist()
    {
        for (int i = 0; i < N; i++)
        {
            uint y = (mt[i] & 0x80000000u) | (mt[(i + 1) % N] & 0x7FFFFFFFu);
            mt[i] = mt[(i + M) % N] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908B0DFu : 0u);
        }
        index = 0;
    }
}

/// <summary>A serialisable snapshot of a <see cref="Generator"/>.</summary>
/// <param name="Seed">The original seed.</param>
/// <param name="Mt">The 624-word Mersenne Twister state.</param>
/// <param name="Index">Position in the state.</param>
/// <param name="SpareNormal">A cached second Box–Muller sample, if any.</param>
public sealed record GeneratorState(ulong Seed, uint[] Mt, int Index, double? SpareNormal);
