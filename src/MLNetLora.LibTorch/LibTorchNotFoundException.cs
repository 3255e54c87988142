namespace MLNetLora.LibTorch;

/// <summary>
/// Thrown when no usable libtorch could be loaded. <see cref="Exception.Message"/> lists every path
/// that was tried and what to do next; <see cref="Attempts"/> holds the same trace as data.
/// </summary>
public sealed class LibTorchNotFoundException : Exception
{
    /// <summary>Creates the exception from the loader's trace.</summary>
    public LibTorchNotFoundException(string message, IReadOnlyList<string> attempts)
        : base(message) => Attempts = attempts;

    /// <summary>Creates the exception with a message only.</summary>
    public LibTorchNotFoundException() : this("libtorch could not be loaded.", []) { }

    /// <summary>Creates the exception with a message only.</summary>
    public LibTorchNotFoundException(string message) : this(message, []) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public LibTorchNotFoundException(string message, Exception inner) : base(message, inner) => Attempts = [];

    /// <summary>One line per path tried: the path and why it did not load.</summary>
    public IReadOnlyList<string> Attempts { get; }
}
