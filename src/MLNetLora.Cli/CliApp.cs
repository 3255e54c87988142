using System.Reflection;
using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Cli;

/// <summary>
/// The <c>mlnetlora</c> entry point, callable in-process: global options, dispatch to a command,
/// and the mapping of failures to exit codes.
/// </summary>
public static class CliApp
{
    /// <summary>Exit code of a successful run.</summary>
    public const int SuccessExitCode = 0;

    /// <summary>Exit code of an unexpected failure (a bug or an environment fault).</summary>
    public const int FailureExitCode = 1;

    /// <summary>Exit code of a user error: bad command line, missing or unusable files.</summary>
    public const int UsageExitCode = 2;

    /// <summary>Runs the tool.</summary>
    /// <param name="args">The command line, without the program name.</param>
    /// <param name="stdout">Where results go.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <returns>The exit code: <see cref="SuccessExitCode"/>, <see cref="UsageExitCode"/> or <see cref="FailureExitCode"/>.</returns>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, CommandRegistry.Discover());

    /// <summary>Runs the tool with a given set of commands.</summary>
    /// <param name="args">The command line, without the program name.</param>
    /// <param name="stdout">Where results go.</param>
    /// <param name="stderr">Where errors go.</param>
    /// <param name="registry">The commands to dispatch to.</param>
    /// <returns>The exit code: <see cref="SuccessExitCode"/>, <see cref="UsageExitCode"/> or <see cref="FailureExitCode"/>.</returns>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CommandRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(registry);
        bool verbose = IsGlobalFlagPresent(args, "--verbose");
        var rest = WithoutGlobalFlag(args, "--verbose");
        bool terminal = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected;
        var context = new CliContext(stdout, stderr, verbose, terminal);
        try
        {
            return Dispatch(rest, registry, context);
        }
        catch (Exception e) when (IsUserError(e))
        {
            stderr.WriteLine("error: " + Commands.CliOptionNames.Translate(e.Message));
            if (verbose) stderr.WriteLine(e);
            return UsageExitCode;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"error: {e.Message} ({e.GetType().Name})");
            stderr.WriteLine(verbose ? e.ToString() : "Run again with --verbose to see the stack trace.");
            return FailureExitCode;
        }
    }

    /// <summary>The tool's version: the assembly's informational version.</summary>
    public static string Version =>
        typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(CliApp).Assembly.GetName().Version?.ToString() ?? "unknown";

    private static int Dispatch(List<string> args, CommandRegistry registry, CliContext context)
    {
        if (args.Count == 0)
        {
            HelpWriter.WriteOverview(context.Error, registry);
            context.Error.WriteLine();
            throw new UsageException("No command given; pick one of the commands above.");
        }
        string first = args[0];
        if (IsHelp(first) || (first == "help" && args.Count == 1))
        {
            HelpWriter.WriteOverview(context.Out, registry);
            return SuccessExitCode;
        }
        if (first == "--version")
        {
            context.Out.WriteLine("mlnetlora " + Version);
            return SuccessExitCode;
        }
        if (first == "help" && args.Count > 1) return Dispatch([args[1], "--help"], registry, context);
        if (first.StartsWith('-'))
            throw new UsageException($"Unknown option '{first}'. Put the command first (mlnetlora COMMAND ...); run 'mlnetlora --help' for the commands and options.");
        var command = registry.Find(first) ?? throw UnknownCommand(first, registry);
        var commandArgs = args.Skip(1).ToList();
        if (commandArgs.TakeWhile(a => a != "--").Any(IsHelp))
        {
            HelpWriter.WriteCommand(context.Out, command);
            return SuccessExitCode;
        }
        var parsed = ArgumentParser.Parse(command.Name, command.Syntax, commandArgs);
        return command.Execute(parsed, context);
    }

    private static UsageException UnknownCommand(string name, CommandRegistry registry)
    {
        var names = registry.Commands.Select(c => c.Name).Concat(["help"]);
        string? near = NameSuggestion.Closest(name, names);
        string hint = near is null ? "" : $" Did you mean '{near}'?";
        return new UsageException($"Unknown command '{name}'.{hint} Run 'mlnetlora --help' for the list of commands.");
    }

    // These failures come from what the user pointed the tool at (paths, files, architectures, the
    // libtorch install), and their messages already say what to do, so a stack trace would only hide that.
    private static bool IsUserError(Exception e) =>
        e is UsageException or CheckpointException or FileNotFoundException or DirectoryNotFoundException
            or InvalidDataException or NotSupportedException or LibTorchNotFoundException or Training.Engine.TrainerOptionException;

    private static bool IsHelp(string arg) => arg is "-h" or "--help";

    // Global flags may appear anywhere before "--", so a user can append --verbose to any command line.
    private static bool IsGlobalFlagPresent(string[] args, string flag) => args.TakeWhile(a => a != "--").Contains(flag);

    private static List<string> WithoutGlobalFlag(string[] args, string flag)
    {
        int end = Array.IndexOf(args, "--");
        if (end < 0) end = args.Length;
        return args.Take(end).Where(a => a != flag).Concat(args.Skip(end)).ToList();
    }
}
