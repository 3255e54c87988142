namespace MLNetLora.Cli;

/// <summary>
/// The user asked for something the tool cannot do as written: an unknown command or option, a missing
/// argument, a path that does not exist. The message says what is wrong and what to do instead;
/// the tool prints it without a stack trace and exits with <see cref="CliApp.UsageExitCode"/>.
/// </summary>
public sealed class UsageException : Exception
{
    /// <summary>Creates the exception with a message that says what is wrong and what to do.</summary>
    public UsageException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that revealed the problem.</summary>
    public UsageException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public UsageException() : base("The command line is not valid; run 'mlnetlora --help'.")
    {
    }
}
