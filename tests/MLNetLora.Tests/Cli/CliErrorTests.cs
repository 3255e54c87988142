using MLNetLora.Cli;
using MLNetLora.LibTorch;
using static MLNetLora.Tests.Cli.CliFixture;

namespace MLNetLora.Tests.Cli;

/// <summary>A command that fails the way a bug would, to check how unexpected errors are reported.</summary>
public sealed class ThrowingTestCommand : ICliCommand
{
    public string Name => "throw-test";

    public string Summary => "Throw an unexpected exception";

    public CommandSyntax Syntax { get; } = new([], []);

    public int Execute(ParsedArguments args, CliContext context) => throw new InvalidOperationException("internal state broke");
}

public class CliErrorTests : TempDirFixture
{
    private static CliResult UserError(params string[] args)
    {
        var r = CliRun.Run(args);
        Assert.That(r.ExitCode, Is.EqualTo(CliApp.UsageExitCode), r.ToString());
        Assert.That(r.Error, Does.StartWith("error: "));
        Assert.That(r.Error, Does.Not.Contain("   at "), "user errors carry no stack trace");
        return r;
    }

    private string OutFile => Path.Combine(Dir, "out.safetensors");

    [Test]
    public void Inspect_MissingModelFolder_SaysToPassAModelFolder()
    {
        var r = UserError("inspect", Path.Combine(Dir, "nope"));
        Assert.That(r.Error, Does.Contain("does not exist").And.Contain("Pass the folder of a Hugging Face model"));
    }

    [Test]
    public void Forward_FolderWithoutConfig_SaysItIsNotAModelFolder()
    {
        var r = UserError("forward", Dir, "--input", Reference, "--output", OutFile);
        Assert.That(r.Error, Does.Contain("has no config.json"));
    }

    [Test]
    public void Forward_MissingInputOption_NamesTheOption()
    {
        var r = UserError("forward", Llama, "--output", OutFile);
        Assert.That(r.Error, Does.Contain("needs --input IN.safetensors").And.Contain("Usage: mlnetlora forward"));
    }

    [Test]
    public void Forward_InputWithoutInputIds_SaysHowToWriteIt()
    {
        using var other = Tensor.Zeros([2, 3], DType.Int64);
        string input = WriteInput(Dir, ("tokens", other));
        var r = UserError("forward", Llama, "--input", input, "--output", OutFile);
        Assert.That(r.Error, Does.Contain("has no 'input_ids' tensor").And.Contain("'tokens'").And.Contain("int64 tensor named 'input_ids'"));
        Assert.That(File.Exists(OutFile), Is.False);
    }

    [Test]
    public void Forward_MissingInputFile_SaysItDoesNotExist()
    {
        var r = UserError("forward", Llama, "--input", Path.Combine(Dir, "missing.safetensors"), "--output", OutFile);
        Assert.That(r.Error, Does.Contain("does not exist").And.Contain("input_ids"));
    }

    [Test]
    public void Forward_FloatInputIds_AskForIntegers()
    {
        using var ids = Tensor.Zeros([1, 4], DType.Float32);
        var r = UserError("forward", Llama, "--input", WriteInput(Dir, ("input_ids", ids)), "--output", OutFile);
        Assert.That(r.Error, Does.Contain("F32").And.Contain("integer tensor"));
    }

    [Test]
    public void Forward_IdOutsideVocabulary_NamesIdAndPosition()
    {
        using var ids = Tensor.FromArray(new long[] { 5, 7, 4096 }, 1, 3);
        var r = UserError("forward", Llama, "--input", WriteInput(Dir, ("input_ids", ids)), "--output", OutFile);
        Assert.That(r.Error, Does.Contain("id 4096 at row 0, position 2").And.Contain("[0, 2048)"));
    }

    [Test]
    public void Forward_MaskShapeMismatch_IsRefused()
    {
        using var ids = Tensor.FromArray(new long[] { 5, 7, 9 }, 1, 3);
        using var mask = Tensor.Ones([1, 2], DType.Int64);
        var r = UserError("forward", Llama, "--input", WriteInput(Dir, ("input_ids", ids), ("attention_mask", mask)), "--output", OutFile);
        Assert.That(r.Error, Does.Contain("attention_mask").And.Contain("must match"));
    }

    [Test]
    public void Train_MissingChatTemplate_AsksForATemplateNotADataFile()
    {
        string data = Path.Combine(Dir, "train.jsonl");
        File.WriteAllText(data, "{\"prompt\": \"Q\", \"response\": \" A\"}\n");
        var error = UserError("train", Llama, "--data", data, "--output", Path.Combine(Dir, "run"), "--chat-template", Path.Combine(Dir, "nope.jinja")).Error;
        Assert.That(error, Does.Contain("does not exist; pass a Jinja template file").And.Not.Contain(".jsonl file"));
    }

    [Test]
    public void Forward_MergeWithoutAdapter_AsksForAdapter() =>
        Assert.That(UserError("forward", Llama, "--input", Reference, "--output", OutFile, "--merge").Error, Does.Contain("needs --adapter"));

    [Test]
    public void Forward_MissingAdapterFolder_SaysWhatAnAdapterFolderHolds() =>
        Assert.That(UserError("forward", Llama, "--input", Reference, "--output", OutFile, "--adapter", Path.Combine(Dir, "none")).Error,
            Does.Contain("Adapter folder").And.Contain("adapter_config.json"));

    [Test]
    public void Forward_BadDevice_ListsValidDevices() =>
        Assert.That(UserError("forward", Llama, "--input", Reference, "--output", OutFile, "--device", "tpu").Error,
            Does.Contain("'cpu', 'cuda' or 'cuda:N'"));

    [Test]
    public void Forward_BadDType_ListsValidDTypes() =>
        Assert.That(UserError("forward", Llama, "--input", Reference, "--output", OutFile, "--dtype", "int8").Error,
            Does.Contain("float32, bfloat16 or float16"));

    [Test]
    public void UnknownCommand_SuggestsClosestAndHelp()
    {
        var r = UserError("inspekt", Llama);
        Assert.That(r.Error, Does.Contain("Unknown command 'inspekt'").And.Contain("Did you mean 'inspect'?").And.Contain("mlnetlora --help"));
    }

    [Test]
    public void UnknownOption_SuggestsClosestAndCommandHelp()
    {
        var r = UserError("forward", Llama, "--inptu", Reference, "--output", OutFile);
        Assert.That(r.Error, Does.Contain("Unknown option '--inptu'").And.Contain("Did you mean '--input'?").And.Contain("mlnetlora forward --help"));
    }

    [Test]
    public void UnknownGlobalOption_SaysToPutCommandFirst() =>
        Assert.That(UserError("--json", "inspect").Error, Does.Contain("Put the command first"));

    [Test]
    public void NoArguments_ShowsHelpOnStderr()
    {
        var r = CliRun.Run();
        Assert.That(r.ExitCode, Is.EqualTo(CliApp.UsageExitCode), r.ToString());
        Assert.That(r.Error, Does.Contain("Commands:").And.EndWith("error: No command given; pick one of the commands above." + Environment.NewLine));
        Assert.That(r.Out, Is.Empty);
    }

    [Test]
    public void UnexpectedException_ExitsOneWithMessageButNoStackTrace()
    {
        var r = CliRun.Run(new CommandRegistry([new ThrowingTestCommand()]), "throw-test");
        Assert.That(r.ExitCode, Is.EqualTo(CliApp.FailureExitCode), r.ToString());
        Assert.That(r.Error, Does.Contain("internal state broke").And.Contain("--verbose"));
        Assert.That(r.Error, Does.Not.Contain("   at "));
    }

    [Test]
    public void UnexpectedException_WithVerbose_PrintsStackTrace()
    {
        var r = CliRun.Run(new CommandRegistry([new ThrowingTestCommand()]), "throw-test", "--verbose");
        Assert.That(r.ExitCode, Is.EqualTo(CliApp.FailureExitCode), r.ToString());
        Assert.That(r.Error, Does.Contain("   at ").And.Contain(nameof(ThrowingTestCommand)));
    }
}
