namespace MLNetLora.Cli;

/// <summary>A positional argument of a command; every positional argument is required.</summary>
/// <param name="Name">Placeholder shown in usage lines, e.g. <c>MODEL_DIR</c>.</param>
/// <param name="Description">One line for the help text.</param>
/// <param name="Optional">Whether it may be left out (only the last positionals can be).</param>
public sealed record PositionalSpec(string Name, string Description, bool Optional = false);

/// <summary>An option of a command: a flag (<c>--merge</c>) when <paramref name="ValueName"/> is null, else an option with a value (<c>--input FILE</c>).</summary>
/// <param name="Name">The long name without dashes, e.g. <c>input</c>.</param>
/// <param name="ValueName">Placeholder of the value, e.g. <c>IN.safetensors</c>; null for a flag.</param>
/// <param name="Description">One line for the help text; for a required option, also what the value is for.</param>
/// <param name="Required">Whether the command refuses to run without it.</param>
public sealed record OptionSpec(string Name, string? ValueName, string Description, bool Required = false)
{
    /// <summary>The topic help lists the option under (commands with many options group them); null: the plain list.</summary>
    public string? Group { get; init; }

    /// <summary>Whether the option is a flag that takes no value.</summary>
    public bool IsFlag => ValueName is null;

    /// <summary>The option as written on the command line, with its value placeholder: <c>--input IN.safetensors</c>.</summary>
    public string Display => IsFlag ? "--" + Name : $"--{Name} {ValueName}";
}

/// <summary>
/// What a command accepts. The parser validates a command line against it and the help text is
/// generated from it, so the two cannot drift apart.
/// </summary>
/// <param name="Positionals">Positional arguments, in order.</param>
/// <param name="Options">Options, in the order help lists them.</param>
public sealed record CommandSyntax(IReadOnlyList<PositionalSpec> Positionals, IReadOnlyList<OptionSpec> Options)
{
    /// <summary>The option with this long name, or null.</summary>
    public OptionSpec? FindOption(string name) => Options.FirstOrDefault(o => o.Name == name);

    /// <summary>The usage line after the command name, e.g. <c>MODEL_DIR --input IN [--merge]</c>.</summary>
    public string UsageTail()
    {
        var parts = Positionals.Select(p => p.Optional ? "[" + p.Name + "]" : p.Name)
            .Concat(Options.Select(o => o.Required ? o.Display : "[" + o.Display + "]"));
        return string.Join(" ", parts);
    }
}
