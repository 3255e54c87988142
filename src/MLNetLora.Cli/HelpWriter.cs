namespace MLNetLora.Cli;

/// <summary>Writes the tool's help and each command's help, generated from the registry and the commands' syntax.</summary>
public static class HelpWriter
{
    private static readonly (string Display, string Description)[] GlobalOptions =
    [
        ("-h, --help", "Show help (after a command: that command's help)"),
        ("--version", "Show the version"),
        ("--verbose", "Show stack traces of unexpected errors"),
    ];

    /// <summary>Writes <c>mlnetlora --help</c>: the commands, the coming ones, and the global options.</summary>
    public static void WriteOverview(TextWriter w, CommandRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(registry);
        w.WriteLine("mlnetlora: LoRA fine-tuning of transformer language models on libtorch");
        w.WriteLine();
        w.WriteLine("Usage: mlnetlora COMMAND [ARGUMENTS] [OPTIONS]");
        w.WriteLine();
        w.WriteLine("Commands:");
        var rows = registry.Commands.Select(c => (c.Name, c.Summary)).ToList();
        WriteRows(w, rows);
        w.WriteLine();
        w.WriteLine("Options:");
        WriteRows(w, GlobalOptions);
        w.WriteLine();
        w.WriteLine("Run 'mlnetlora COMMAND --help' for a command's arguments and options.");
    }

    /// <summary>Writes <c>mlnetlora COMMAND --help</c>.</summary>
    public static void WriteCommand(TextWriter w, ICliCommand command)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(command);
        var syntax = command.Syntax;
        w.WriteLine($"mlnetlora {command.Name}: {command.Summary}");
        w.WriteLine();
        w.WriteLine($"Usage: mlnetlora {command.Name} {syntax.UsageTail()}".TrimEnd());
        if (syntax.Positionals.Count > 0)
        {
            w.WriteLine();
            w.WriteLine("Arguments:");
            WriteRows(w, syntax.Positionals.Select(p => (p.Name, p.Description)).ToList());
        }
        static (string, string) Row(OptionSpec o) => (o.Display, o.Required ? o.Description + " (required)" : o.Description);
        var globals = GlobalOptions.Where(g => g.Display != "--version").ToList();
        if (syntax.Options.All(o => o.Group is null))
        {
            w.WriteLine();
            w.WriteLine("Options:");
            WriteRows(w, syntax.Options.Select(Row).Concat(globals).ToList());
            return;
        }
        // Groups in the order their first option appears; one column width for all, so the sections line up.
        int width = syntax.Options.Select(o => o.Display.Length).Concat(globals.Select(g => g.Display.Length)).Max();
        foreach (var group in syntax.Options.GroupBy(o => o.Group ?? "Other"))
        {
            w.WriteLine();
            w.WriteLine(group.Key + ":");
            WriteRows(w, group.Select(Row).ToList(), width);
        }
        w.WriteLine();
        w.WriteLine("General:");
        WriteRows(w, globals, width);
    }

    private static void WriteRows(TextWriter w, IReadOnlyList<(string Left, string Right)> rows, int? columnWidth = null)
    {
        int width = columnWidth ?? (rows.Count == 0 ? 0 : rows.Max(r => r.Left.Length));
        foreach (var (left, right) in rows) w.WriteLine($"  {left.PadRight(width)}   {right}");
    }
}
