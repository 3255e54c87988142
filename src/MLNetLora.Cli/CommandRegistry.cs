using System.Reflection;

namespace MLNetLora.Cli;

/// <summary>
/// The available commands, found by reflection: every public, non-abstract <see cref="ICliCommand"/>
/// with a parameterless constructor in the assembly. Planned commands that have no implementation
/// yet are listed in help as "(coming)"; once a class for one exists it simply appears as a command.
/// </summary>
public sealed class CommandRegistry
{
    /// <summary>Commands on the roadmap; help shows those not implemented yet as coming.</summary>
    public static IReadOnlyList<string> PlannedCommands { get; } = ["generate", "train", "lr-find", "demo"];

    private readonly Dictionary<string, ICliCommand> byName;

    /// <summary>Creates a registry of the given commands.</summary>
    /// <exception cref="ArgumentException">Two commands share a name.</exception>
    public CommandRegistry(IEnumerable<ICliCommand> commands)
    {
        ArgumentNullException.ThrowIfNull(commands);
        byName = new Dictionary<string, ICliCommand>(StringComparer.Ordinal);
        foreach (var c in commands)
            if (!byName.TryAdd(c.Name, c))
                throw new ArgumentException($"Two commands are named '{c.Name}': {byName[c.Name].GetType().Name} and {c.GetType().Name}.", nameof(commands));
        Commands = byName.Values.OrderBy(c => c.Name, StringComparer.Ordinal).ToArray();
        Coming = PlannedCommands.Where(p => !byName.ContainsKey(p)).ToArray();
    }

    /// <summary>The implemented commands, by name.</summary>
    public IReadOnlyList<ICliCommand> Commands { get; }

    /// <summary>Planned commands that are not implemented yet.</summary>
    public IReadOnlyList<string> Coming { get; }

    /// <summary>Every command of this tool's assembly.</summary>
    public static CommandRegistry Discover() => Discover(typeof(CommandRegistry).Assembly);

    /// <summary>Every command class in <paramref name="assembly"/>.</summary>
    public static CommandRegistry Discover(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var commands = assembly.GetExportedTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(ICliCommand).IsAssignableFrom(t) && t.GetConstructor(Type.EmptyTypes) is not null)
            .Select(t => (ICliCommand)Activator.CreateInstance(t)!);
        return new CommandRegistry(commands);
    }

    /// <summary>The command with this name, or null.</summary>
    public ICliCommand? Find(string name) => byName.GetValueOrDefault(name);
}
