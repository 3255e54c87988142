namespace MLNetLora.Cli;

/// <summary>
/// One <c>mlnetlora</c> subcommand. A public, non-abstract class with a parameterless constructor that
/// implements this interface is found by <see cref="CommandRegistry"/> on its own: adding a command
/// is adding one file.
/// </summary>
public interface ICliCommand
{
    /// <summary>The word typed after <c>mlnetlora</c>, e.g. <c>inspect</c>.</summary>
    string Name { get; }

    /// <summary>One line for the command list in <c>mlnetlora --help</c>.</summary>
    string Summary { get; }

    /// <summary>The positional arguments and options the command accepts; the parser and the help text use it.</summary>
    CommandSyntax Syntax { get; }

    /// <summary>Runs the command on already validated arguments.</summary>
    /// <param name="args">The parsed command line.</param>
    /// <param name="context">Where to write output, and the global settings.</param>
    /// <returns>The process exit code (0 on success).</returns>
    /// <exception cref="UsageException">The arguments are well formed but unusable (a missing file, a wrong tensor).</exception>
    int Execute(ParsedArguments args, CliContext context);
}
