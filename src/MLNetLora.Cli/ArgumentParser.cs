namespace MLNetLora.Cli;

/// <summary>
/// Checks a command's arguments against its <see cref="CommandSyntax"/>. Accepts <c>--name value</c>,
/// <c>--name=value</c>, flags, and <c>--</c> to end options (so a positional may start with a dash).
/// Every problem becomes a <see cref="UsageException"/> whose message names the problem and the fix.
/// </summary>
public static class ArgumentParser
{
    /// <summary>Parses the arguments that follow the command name.</summary>
    /// <param name="command">The command's name, for messages.</param>
    /// <param name="syntax">What the command accepts.</param>
    /// <param name="args">The arguments after the command name (global options already removed).</param>
    /// <exception cref="UsageException">An option is unknown, repeated or lacks its value, or a positional or required option is missing or extra.</exception>
    public static ParsedArguments Parse(string command, CommandSyntax syntax, IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(syntax);
        ArgumentNullException.ThrowIfNull(args);
        var positionals = new List<string>();
        var options = new Dictionary<string, string?>(StringComparer.Ordinal);
        bool optionsEnded = false;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (optionsEnded || !LooksLikeOption(arg))
            {
                positionals.Add(arg);
                continue;
            }
            if (arg == "--")
            {
                optionsEnded = true;
                continue;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal))
                throw new UsageException(
                    $"Unknown option '{arg}' for '{command}'; options are spelled with two dashes (--name). " +
                    $"If '{arg}' is meant as a value, put '--' before it. Run 'mlnetlora {command} --help' to see the options.");
            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            string name = eq < 0 ? arg[2..] : arg[2..eq];
            var spec = syntax.FindOption(name) ?? throw UnknownOption(command, syntax, arg, name);
            if (options.ContainsKey(name))
                throw new UsageException($"'--{name}' was given more than once for '{command}'; give it once.");
            if (spec.IsFlag)
            {
                if (eq >= 0) throw new UsageException($"'--{name}' is a flag and takes no value; write just '--{name}'.");
                options[name] = null;
                continue;
            }
            if (eq >= 0)
            {
                options[name] = arg[(eq + 1)..];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                options[name] = args[++i];
            }
            else
            {
                throw new UsageException($"'--{name}' needs a value: {spec.Display} ({spec.Description}).");
            }
        }
        return new ParsedArguments(MatchPositionals(command, syntax, positionals), CheckRequired(command, syntax, options));
    }

    // A lone "-" (stdin by convention) and negative numbers are values, not options.
    private static bool LooksLikeOption(string arg) =>
        arg.Length > 1 && arg[0] == '-' && !(char.IsAsciiDigit(arg[1]) || (arg[1] == '.' && arg.Length > 2));

    private static UsageException UnknownOption(string command, CommandSyntax syntax, string arg, string name)
    {
        string? near = NameSuggestion.ForOption(name, syntax.Options.Select(o => o.Name));
        string hint = near is null ? "" : $" Did you mean '--{near}'?";
        return new UsageException($"Unknown option '{arg}' for '{command}'.{hint} Run 'mlnetlora {command} --help' to see its options.");
    }

    private static Dictionary<string, string> MatchPositionals(string command, CommandSyntax syntax, List<string> values)
    {
        var specs = syntax.Positionals;
        string usage = $"Usage: mlnetlora {command} {syntax.UsageTail()}";
        if (values.Count < specs.Count && !specs[values.Count].Optional)
        {
            var missing = specs[values.Count];
            throw new UsageException($"'{command}' needs {missing.Name} ({missing.Description}). {usage}");
        }
        if (values.Count > specs.Count)
        {
            string extra = string.Join(" ", values.Skip(specs.Count).Select(v => "'" + v + "'"));
            string expects = specs.Count == 0 ? "no arguments" : string.Join(" ", specs.Select(s => s.Name));
            throw new UsageException(
                $"'{command}' takes {expects} but also got {extra}. Quote values that contain spaces. {usage}");
        }
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < Math.Min(specs.Count, values.Count); i++) result[specs[i].Name] = values[i];
        return result;
    }

    private static Dictionary<string, string?> CheckRequired(string command, CommandSyntax syntax, Dictionary<string, string?> options)
    {
        var missing = syntax.Options.FirstOrDefault(o => o.Required && !options.ContainsKey(o.Name));
        if (missing is not null)
            throw new UsageException(
                $"'{command}' needs {missing.Display} ({missing.Description}). Usage: mlnetlora {command} {syntax.UsageTail()}");
        return options;
    }
}
