using MLNetLora.LibTorch;

namespace MLNetLora.Models.Transformer;

/// <summary>Where a model's frozen weights come from: a checkpoint on disk, or tensors a test built.</summary>
public interface IWeightSource
{
    /// <summary>Whether a tensor with this Hugging Face name exists.</summary>
    bool Contains(string name);

    /// <summary>Loads a tensor, checking its shape.</summary>
    /// <remarks>Implementations throw when the tensor is missing or its shape differs from
    /// <paramref name="expectedShape"/>, naming the tensor and both shapes.</remarks>
    Tensor Load(string name, long[] expectedShape);
}

/// <summary>An in-memory <see cref="IWeightSource"/> (used by tests and by merged-model export).</summary>
public sealed class DictionaryWeightSource(IReadOnlyDictionary<string, Tensor> tensors) : IWeightSource
{
    /// <inheritdoc/>
    public bool Contains(string name) => tensors.ContainsKey(name);

    /// <inheritdoc/>
    public Tensor Load(string name, long[] expectedShape)
    {
        if (!tensors.TryGetValue(name, out var t)) throw new KeyNotFoundException($"No tensor named '{name}'.");
        if (!t.Shape.SequenceEqual(expectedShape))
            throw new InvalidDataException($"Tensor '{name}' has shape [{string.Join(",", t.Shape)}] but the config expects [{string.Join(",", expectedShape)}].");
        return t.Alias();
    }
}
