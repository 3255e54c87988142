namespace MLNetLora.LibTorch;

/// <summary>
/// A libtorch call returned an error. The message names the operation and the shape, dtype and
/// device of every tensor argument; libtorch writes its own C++ message to standard error.
/// </summary>
public sealed class TorchException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TorchException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public TorchException() : base("A libtorch call failed.") { }

    /// <summary>Creates the exception.</summary>
    public TorchException(string message, Exception inner) : base(message, inner) { }

    /// <summary>The ATen operation or shim function that failed.</summary>
    public string? Operation { get; init; }
}
