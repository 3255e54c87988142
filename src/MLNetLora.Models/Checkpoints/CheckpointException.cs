namespace MLNetLora.Models.Checkpoints;

/// <summary>
/// A checkpoint or configuration file is missing, malformed, or does not match what the model expects.
/// The message names the file and says what to do about it.
/// </summary>
public sealed class CheckpointException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public CheckpointException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public CheckpointException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a message and the file it concerns.</summary>
    public CheckpointException(string message, string? filePath) : base(message)
    {
        FilePath = filePath;
    }

    /// <summary>Creates the exception with a message, the file it concerns and the error that caused it.</summary>
    public CheckpointException(string message, string? filePath, Exception? innerException) : base(message, innerException)
    {
        FilePath = filePath;
    }

    /// <summary>Creates the exception with a default message.</summary>
    public CheckpointException() : base("The checkpoint could not be read.")
    {
    }

    /// <summary>The file the error concerns, when there is one.</summary>
    public string? FilePath { get; }
}
