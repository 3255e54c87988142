namespace MLNetLora.Cli;

/// <summary>A command line after <see cref="ArgumentParser"/> has checked it against a <see cref="CommandSyntax"/>.</summary>
public sealed class ParsedArguments
{
    private readonly IReadOnlyDictionary<string, string> positionals;
    private readonly IReadOnlyDictionary<string, string?> options;

    /// <summary>Creates the result; the parser is the usual caller.</summary>
    /// <param name="positionals">Positional values by <see cref="PositionalSpec.Name"/>.</param>
    /// <param name="options">Options that were given, by long name; flags map to null.</param>
    public ParsedArguments(IReadOnlyDictionary<string, string> positionals, IReadOnlyDictionary<string, string?> options)
    {
        this.positionals = positionals;
        this.options = options;
    }

    /// <summary>The value of a positional argument.</summary>
    /// <exception cref="ArgumentException">The syntax declares no positional of that name.</exception>
    public string Positional(string name) =>
        positionals.TryGetValue(name, out var v) ? v : throw new ArgumentException($"No positional argument named '{name}' was declared.", nameof(name));

    /// <summary>The value of an optional positional argument, or null when it was left out.</summary>
    public string? PositionalOrNull(string name) => positionals.TryGetValue(name, out var v) ? v : null;

    /// <summary>The value of an option, or null when it was not given.</summary>
    public string? Option(string name) => options.TryGetValue(name, out var v) ? v : null;

    /// <summary>The value of an option the syntax marks as required (the parser has already enforced it).</summary>
    /// <exception cref="ArgumentException">The option is absent, so the syntax does not declare it required.</exception>
    public string Required(string name) =>
        Option(name) ?? throw new ArgumentException($"Option '--{name}' is not declared as required.", nameof(name));

    /// <summary>Whether a flag (or any option) was given.</summary>
    public bool Has(string name) => options.ContainsKey(name);
}
