using MLNetLora.Cli;

namespace MLNetLora.Tests.Cli;

/// <summary>A command defined outside the tool's assembly, to show that discovery needs only the class.</summary>
public sealed class EchoTestCommand : ICliCommand
{
    public string Name => "echo-test";

    public string Summary => "Echo a word";

    public CommandSyntax Syntax { get; } = new([new PositionalSpec("WORD", "the word")], []);

    public int Execute(ParsedArguments args, CliContext context)
    {
        context.Out.WriteLine(args.Positional("WORD"));
        return 0;
    }
}

public class CommandRegistryTests
{
    [Test]
    public void Discover_ToolAssembly_FindsBuiltInCommands()
    {
        var names = CommandRegistry.Discover().Commands.Select(c => c.Name);
        Assert.That(names, Is.SupersetOf(new[] { "forward", "inspect", "merge", "tokenize" }));
    }

    [Test]
    public void Discover_AssemblyWithNewCommandClass_RegistersIt()
    {
        var registry = CommandRegistry.Discover(typeof(EchoTestCommand).Assembly);
        Assert.That(registry.Find("echo-test"), Is.InstanceOf<EchoTestCommand>());
        var r = CliRun.Run(registry, "echo-test", "hi");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out.Trim(), Is.EqualTo("hi"));
    }

    [Test]
    public void Constructor_DuplicateNames_Throws() =>
        Assert.Throws<ArgumentException>(() => _ = new CommandRegistry([new EchoTestCommand(), new EchoTestCommand()]));
}
