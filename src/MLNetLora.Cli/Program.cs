namespace MLNetLora.Cli;

/// <summary>The process entry point; everything else lives in <see cref="CliApp"/> so tests can run it in-process.</summary>
public static class Program
{
    /// <summary>Runs <c>mlnetlora</c> with the process's console.</summary>
    /// <param name="args">The command line.</param>
    /// <returns>The exit code.</returns>
    public static int Main(string[] args) => CliApp.Run(args, Console.Out, Console.Error);
}
