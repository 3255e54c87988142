using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using static MLNetLora.Tests.Cli.CliFixture;
using static MLNetLora.Tests.TestUtil;

namespace MLNetLora.Tests.Cli;

public class ForwardCommandTests : TempDirFixture
{
    private string Output => Path.Combine(Dir, "out", "logits.safetensors");

    private double[] RunForward(params string[] extra)
    {
        var r = CliRun.Run(["forward", Llama, "--input", Reference, "--output", Output, .. extra]);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Does.Contain("wrote logits [2,24,2048]"));
        return ReadLogits(Output, ReferenceShape("logits"));
    }

    [Test]
    public void Forward_ReferenceIds_MatchTransformersLogits() =>
        AssertClose(RunForward(), ReferenceTensor("logits"), LogitTolerance, "logits");

    [Test]
    public void Forward_WithAdapter_MatchesPeftLogits() =>
        AssertClose(RunForward("--adapter", Adapter), ReferenceTensor("adapter_logits"), LogitTolerance, "adapter logits");

    [Test]
    public void Forward_WithAdapterMerged_MatchesMergedLogits() =>
        AssertClose(RunForward("--adapter", Adapter, "--merge"), ReferenceTensor("merged_logits"), LogitTolerance, "merged logits");

    [Test]
    public void Forward_AllOnesMaskAndInt32Ids_GiveSameLogits()
    {
        using var reference = SafeTensorsFile.Open(Reference);
        using var ids = reference.Load("input_ids");
        using var ids32 = ids.To(DType.Int32);
        using var mask = Tensor.Ones(ids.Shape, DType.Int64);
        string input = WriteInput(Dir, ("input_ids", ids32), ("attention_mask", mask));
        var r = CliRun.Run("forward", Llama, "--input", input, "--output", Output);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        AssertClose(ReadLogits(Output, ReferenceShape("logits")), ReferenceTensor("logits"), LogitTolerance, "masked logits");
    }

    [Test]
    public void Forward_PaddedRow_KeepsRealTokensLogits()
    {
        // Right padding: the real prefix of a row attends only to itself, so its logits do not change.
        using var reference = SafeTensorsFile.Open(Reference);
        using var ids = reference.Load("input_ids");
        long t = ids.Size(1);
        long[] maskValues = Enumerable.Repeat(1L, (int)ids.NumEl).ToArray();
        for (long j = t - 4; j < t; j++) maskValues[t + j] = 0;
        using var mask = Tensor.FromArray(maskValues, ids.Shape);
        string input = WriteInput(Dir, ("input_ids", ids), ("attention_mask", mask));
        var r = CliRun.Run("forward", Llama, "--input", input, "--output", Output);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        double[] actual = ReadLogits(Output, ReferenceShape("logits"));
        double[] expected = ReferenceTensor("logits");
        int v = 2048;
        int realOfRow1 = (int)(t - 4) * v;
        int row1 = (int)t * v;
        AssertClose(actual.AsSpan(row1, realOfRow1), expected.AsSpan(row1, realOfRow1), LogitTolerance, "row 1 real tokens");
        AssertClose(actual.AsSpan(0, row1), expected.AsSpan(0, row1), LogitTolerance, "row 0");
        int lastOfRow1 = row1 + (int)(t - 1) * v;
        double change = Enumerable.Range(lastOfRow1, v).Max(i => Math.Abs(actual[i] - expected[i]));
        Assert.That(change, Is.GreaterThan(1e-3), "a padded position no longer sees the padded keys before it, so its logits must change");
    }
}
