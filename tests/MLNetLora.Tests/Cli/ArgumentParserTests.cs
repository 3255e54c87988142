using MLNetLora.Cli;

namespace MLNetLora.Tests.Cli;

public class ArgumentParserTests
{
    private static readonly CommandSyntax Syntax = new(
        [new PositionalSpec("MODEL_DIR", "model folder"), new PositionalSpec("TEXT", "text")],
        [
            new OptionSpec("input", "FILE", "input file", Required: true),
            new OptionSpec("device", "DEVICE", "device"),
            new OptionSpec("merge", null, "merge flag"),
        ]);

    private static ParsedArguments Parse(params string[] args) => ArgumentParser.Parse("demo-cmd", Syntax, args);

    private static string ErrorOf(params string[] args) => Assert.Throws<UsageException>(() => Parse(args))!.Message;

    [Test]
    public void Parse_SpaceAndEqualsForms_GiveValuesAndPositionals()
    {
        var p = Parse("m", "--input", "in.st", "hello", "--device=cuda:1", "--merge");
        Assert.Multiple(() =>
        {
            Assert.That(p.Positional("MODEL_DIR"), Is.EqualTo("m"));
            Assert.That(p.Positional("TEXT"), Is.EqualTo("hello"));
            Assert.That(p.Required("input"), Is.EqualTo("in.st"));
            Assert.That(p.Option("device"), Is.EqualTo("cuda:1"));
            Assert.That(p.Has("merge"), Is.True);
        });
    }

    [Test]
    public void Parse_AbsentOptionalOption_IsNullAndNotPresent()
    {
        var p = Parse("m", "t", "--input", "x");
        Assert.That(p.Option("device"), Is.Null);
        Assert.That(p.Has("merge"), Is.False);
    }

    [Test]
    public void Parse_DoubleDash_TreatsRestAsPositionals()
    {
        var p = Parse("--input", "x", "m", "--", "--merge");
        Assert.That(p.Positional("TEXT"), Is.EqualTo("--merge"));
        Assert.That(p.Has("merge"), Is.False);
    }

    [Test]
    public void Parse_NegativeNumberAndLoneDash_ArePositionals()
    {
        var p = Parse("-", "-12", "--input", "x");
        Assert.That(p.Positional("MODEL_DIR"), Is.EqualTo("-"));
        Assert.That(p.Positional("TEXT"), Is.EqualTo("-12"));
    }

    [Test]
    public void Parse_UnknownOption_SuggestsClosestAndHelp()
    {
        string m = ErrorOf("m", "t", "--input", "x", "--devcie", "cpu");
        Assert.That(m, Does.Contain("'--devcie'").And.Contain("Did you mean '--device'?").And.Contain("mlnetlora demo-cmd --help"));
    }

    [Test]
    public void Parse_SingleDashOption_ExplainsDoubleDashAndSeparator()
    {
        string m = ErrorOf("m", "-x", "--input", "x");
        Assert.That(m, Does.Contain("two dashes").And.Contain("'--'"));
    }

    [Test]
    public void Parse_OptionWithoutValue_SaysWhatValueIsNeeded()
    {
        Assert.That(ErrorOf("m", "t", "--input"), Does.Contain("'--input' needs a value: --input FILE"));
        Assert.That(ErrorOf("m", "t", "--input", "--merge"), Does.Contain("'--input' needs a value"));
    }

    [Test]
    public void Parse_FlagWithValue_IsRejected() =>
        Assert.That(ErrorOf("m", "t", "--input", "x", "--merge=yes"), Does.Contain("'--merge' is a flag"));

    [Test]
    public void Parse_RepeatedOption_IsRejected() =>
        Assert.That(ErrorOf("m", "t", "--input", "x", "--input", "y"), Does.Contain("more than once"));

    [Test]
    public void Parse_MissingPositional_NamesItAndShowsUsage() =>
        Assert.That(ErrorOf("m", "--input", "x"),
            Does.Contain("needs TEXT").And.Contain("Usage: mlnetlora demo-cmd MODEL_DIR TEXT --input FILE [--device DEVICE] [--merge]"));

    [Test]
    public void Parse_ExtraPositional_ListsItAndMentionsQuoting() =>
        Assert.That(ErrorOf("m", "t", "u", "--input", "x"), Does.Contain("'u'").And.Contain("Quote values"));

    [Test]
    public void Parse_MissingRequiredOption_NamesOptionAndPurpose() =>
        Assert.That(ErrorOf("m", "t"), Does.Contain("needs --input FILE (input file)"));

    [TestCase("--learning-rate", "--lr")]
    [TestCase("--num_train_epochs", "--epochs")]
    [TestCase("--gradient-accumulation-steps", "--grad-accum")]
    [TestCase("--output_dir", "--output")]
    public void Parse_AnotherToolsName_SuggestsOurs(string typed, string ours)
    {
        var e = Assert.Throws<UsageException>(() => ArgumentParser.Parse("train", new MLNetLora.Cli.Commands.TrainCommand().Syntax, ["m", typed, "1"]));
        Assert.That(e!.Message, Does.Contain($"Did you mean '{ours}'?"));
    }
}
