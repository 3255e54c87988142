using Spectre.Console;

namespace MLNetLora.Cli;

/// <summary>Where a command writes, and the global options that apply to every command.</summary>
public sealed class CliContext
{
    private readonly Lazy<IAnsiConsole> console;

    /// <summary>Creates a context.</summary>
    /// <param name="output">Standard output: results.</param>
    /// <param name="error">Standard error: errors and progress notes.</param>
    /// <param name="verbose">Whether <c>--verbose</c> was given.</param>
    /// <param name="outputIsTerminal">Whether <paramref name="output"/> is an interactive terminal, so colours and terminal width may be used.</param>
    public CliContext(TextWriter output, TextWriter error, bool verbose, bool outputIsTerminal)
    {
        Out = output;
        Error = error;
        Verbose = verbose;
        // Redirected output (files, pipes, tests) gets plain text with no escape codes.
        console = new Lazy<IAnsiConsole>(() => AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = outputIsTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = outputIsTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = outputIsTerminal ? InteractionSupport.Detect : InteractionSupport.No,
        }));
    }

    /// <summary>Standard output.</summary>
    public TextWriter Out { get; }

    /// <summary>Standard error.</summary>
    public TextWriter Error { get; }

    /// <summary>Whether to show details such as stack traces.</summary>
    public bool Verbose { get; }

    /// <summary>A Spectre.Console view of <see cref="Out"/> for tables.</summary>
    public IAnsiConsole Console => console.Value;
}
