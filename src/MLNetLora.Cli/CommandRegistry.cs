using System.Reflection;

namespace MLNetLora.Cli;

/// <summary>
/// The available commands, found by reflection: every public, non-abstract <see cref="ICliCommand"/>
/// with a parameterless constructor in the assembly.
/// </summary>
public sealed class CommandRegistry
{
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
    }

    /// <summary>The implemented commands, by name.</summary>
    public IReadOnlyList<ICliCommand> Commands { get; }

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
