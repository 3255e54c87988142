using MLNetLora.Cli;

namespace MLNetLora.Tests.Cli;

/// <summary>The outcome of one in-process run of the tool.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Out}\nstderr:\n{Error}";
}

/// <summary>Runs <see cref="CliApp"/> in-process with captured output.</summary>
internal static class CliRun
{
    public static CliResult Run(params string[] args) => Run(null, args);

    public static CliResult Run(CommandRegistry? registry, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = registry is null ? CliApp.Run(args, stdout, stderr) : CliApp.Run(args, stdout, stderr, registry);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }
}
