using MLNetLora.LibTorch;
using MLNetLora.Models.Transformer;

namespace MLNetLora.Models.Generation;

/// <summary>
/// Keys and values of every layer for the positions a model has already seen, so that each decoding
/// step only computes the new tokens. Per layer, K and V are (B, KV, S, D) in the compute dtype, keys
/// stored after RoPE (as transformers' cache stores them) and before the grouped-query repeat.
/// </summary>
/// <remarks>
/// The tensors are allocated once at <see cref="Capacity"/> and each step copies its new slots into a
/// narrowed view: a step costs O(T) copies instead of the O(S) that concatenating the whole cache would
/// cost (O(S²) over a generation), memory is claimed up front (an out-of-memory error comes before the
/// first token, not halfway), and the allocator sees no churn. The cache also remembers which key
/// slots are padding, so callers pass a mask only for the tokens they add.
/// </remarks>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] keys, values;     // per layer (B, KV, Capacity, D)
    private readonly long[] keyMask;            // (B, Capacity) 1 real, 0 padding; valid up to Length

    /// <summary>Allocates an empty cache for <paramref name="model"/>.</summary>
    /// <param name="model">The model whose layers will fill the cache (sizes, dtype and device).</param>
    /// <param name="batchSize">Rows decoded together.</param>
    /// <param name="capacity">Most positions the cache holds (prompt width plus new tokens).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> or <paramref name="capacity"/> is less than 1.</exception>
    /// <exception cref="TorchException">The tensors could not be allocated (out of memory).</exception>
    public KvCache(DecoderModel model, int batchSize, int capacity)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var spec = model.Spec;
        BatchSize = batchSize;
        Capacity = capacity;
        NumKvHeads = spec.NumKvHeads;
        HeadDim = spec.HeadDim;
        keys = new Tensor[spec.NumLayers];
        values = new Tensor[spec.NumLayers];
        keyMask = new long[(long)batchSize * capacity];
        try
        {
            for (int l = 0; l < spec.NumLayers; l++)
            {
                keys[l] = Tensor.Zeros([batchSize, NumKvHeads, capacity, HeadDim], model.ComputeDType, model.Device).DetachFromScopes();
                values[l] = Tensor.Zeros([batchSize, NumKvHeads, capacity, HeadDim], model.ComputeDType, model.Device).DetachFromScopes();
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Rows held.</summary>
    public int BatchSize { get; }

    /// <summary>Most positions the cache can hold.</summary>
    public int Capacity { get; }

    /// <summary>Positions filled so far (the past length S).</summary>
    public int Length { get; private set; }

    /// <summary>Layers held.</summary>
    public int NumLayers => keys.Length;

    /// <summary>Key/value heads per layer.</summary>
    public int NumKvHeads { get; }

    /// <summary>Width of each head.</summary>
    public int HeadDim { get; }

    /// <summary>Positions still free.</summary>
    public int Remaining => Capacity - Length;

    /// <summary>Whether a filled key slot is a real token (true) or padding (false).</summary>
    /// <param name="row">Batch row.</param>
    /// <param name="position">Slot index, less than <see cref="Length"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The row or slot is outside the filled part.</exception>
    public bool IsReal(int row, int position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, BatchSize);
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(position, Length);
        return keyMask[(long)row * Capacity + position] != 0;
    }

    /// <summary>A view of the filled keys of one layer (B, KV, Length, D); dispose it after use.</summary>
    /// <param name="layer">Layer index.</param>
    public Tensor Keys(int layer) => keys[layer].Narrow(2, 0, Length);

    /// <summary>A view of the filled values of one layer (B, KV, Length, D); dispose it after use.</summary>
    /// <param name="layer">Layer index.</param>
    public Tensor Values(int layer) => values[layer].Narrow(2, 0, Length);

    /// <summary>Forgets every position, keeping the memory for the next prompt.</summary>
    public void Reset()
    {
        Length = 0;
        Array.Clear(keyMask);
    }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        foreach (var t in keys) t?.Dispose();
        foreach (var t in values) t?.Dispose();
    }

    /// <summary>
    /// Writes the new keys and values (B, KV, T, D) of one layer at slots Length..Length+T-1 and returns
    /// views of slots 0..Length+T-1. <see cref="Length"/> moves only in <see cref="Commit"/>, once every
    /// layer has written, so all layers of a step see the same past.
    /// </summary>
    internal (Tensor K, Tensor V) Write(int layer, Tensor k, Tensor v)
    {
        long t = k.Size(2);
        using (var kSlot = keys[layer].Narrow(2, Length, t)) kSlot.CopyFrom(k);      // (B, KV, T, D)
        using (var vSlot = values[layer].Narrow(2, Length, t)) vSlot.CopyFrom(v);    // (B, KV, T, D)
        return (keys[layer].Narrow(2, 0, Length + t), values[layer].Narrow(2, 0, Length + t)); // (B, KV, S, D)
    }

    /// <summary>Records the padding of <paramref name="t"/> new slots; null <paramref name="newMask"/> means all real.</summary>
    internal void StageMask(long[]? newMask, int t)
    {
        for (int b = 0; b < BatchSize; b++)
            for (int i = 0; i < t; i++)
                keyMask[(long)b * Capacity + Length + i] = newMask is null || newMask[b * t + i] != 0 ? 1 : 0;
    }

    /// <summary>Whether any slot in 0..<paramref name="end"/>-1 of any row is padding.</summary>
    internal bool HasPadding(int end)
    {
        for (int b = 0; b < BatchSize; b++)
            for (int j = 0; j < end; j++)
                if (keyMask[(long)b * Capacity + j] == 0) return true;
        return false;
    }

    /// <summary>
    /// Additive mask (B, 1, T, S) for <paramref name="t"/> new queries over S = Length + T keys: 0 where a
    /// query may attend (an earlier or equal position that is a real token), -inf elsewhere. A padded
    /// query still sees itself so no softmax row is all -inf, as the full forward does.
    /// </summary>
    internal float[] BuildMask(int t, int? window = null)
    {
        int s = Length + t;
        var add = new float[(long)BatchSize * t * s];
        for (int b = 0; b < BatchSize; b++)
            for (int i = 0; i < t; i++)
            {
                int query = Length + i;
                for (int j = 0; j < s; j++)
                {
                    bool allowed = j <= query && (keyMask[(long)b * Capacity + j] != 0 || j == query) && (window is not int w || query - j < w);
                    add[((long)b * t + i) * s + j] = allowed ? 0f : float.NegativeInfinity;
                }
            }
        return add;
    }

    /// <summary>Advances <see cref="Length"/> after every layer has written its <paramref name="t"/> new slots.</summary>
    internal void Commit(int t) => Length += t;
}
