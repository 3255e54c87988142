using System.Text.Json.Nodes;
using MLNetLora.LibTorch;
using MLNetLora.Models.Quantization;

namespace MLNetLora.Tests.Quantization;

/// <summary>
/// Our NF4 quantization against an independent numpy implementation of bitsandbytes' kernels
/// (tools/fixtures/nf4_reference.py): packed bytes and 8-bit scale codes bit for bit, values to 1e-7.
/// </summary>
[TestFixtureSource(typeof(TestDevices), nameof(TestDevices.Available))]
public class Nf4ReferenceTests(string device) : DeviceFixture(device)
{
    private static IEnumerable<string> CaseNames() =>
        Nf4Reference.Document["cases"]!.AsArray().Select(c => (string)c!["name"]!);

    private static JsonNode Case(string name) =>
        Nf4Reference.Document["cases"]!.AsArray().Single(c => (string)c!["name"]! == name)!;

    private static void AssertValues(float[] actual, float[] expected, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        int identical = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(1e-7), $"{what}[{i}]");
            if (BitConverter.SingleToInt32Bits(actual[i]) == BitConverter.SingleToInt32Bits(expected[i])) identical++;
        }
        TestContext.Out.WriteLine($"{what}: {identical}/{actual.Length} bit-identical");
    }

    [TestCaseSource(nameof(CaseNames))]
    public void Quantize_MatchesReference(string name)
    {
        var c = Case(name);
        var shape = c["shape"]!.AsArray().Select(x => (long)x!).ToArray();
        int bs = (int)c["blocksize"]!;
        bool dq = (bool)c["double_quant"]!;
        bool bf16 = (string)c["dtype"]! == "bfloat16";
        using var input32 = Tensor.FromArray(Nf4Reference.Floats(c["input"]!), shape);
        using var w = On(bf16 ? input32.To(DType.BFloat16) : input32.Clone());
        using var q = Nf4Tensor.Quantize(w, bs, dq);

        Assert.That(q.Codes.ToArray<byte>(), Is.EqualTo(Nf4Reference.Hex(c["packed"]!)), "packed NF4 bytes");
        if (dq)
        {
            var n = q.NestedAbsmax!;
            Assert.That(n.Codes.ToArray<byte>(), Is.EqualTo(Nf4Reference.Hex(c["qabsmax"]!)), "8-bit absmax codes");
            Assert.That(n.Offset, Is.EqualTo(Nf4Reference.Floats(c["offset"]!)[0]), "offset");
            AssertValues(n.Absmax2.ToArray<float>(), Nf4Reference.Floats(c["absmax2"]!), "absmax2");
            using var scales = q.BlockAbsmax();
            AssertValues(scales.ToArray<float>(), Nf4Reference.Floats(c["dequantized_absmax"]!), "dequantized absmax");
        }
        else
            AssertValues(q.Absmax!.ToArray<float>(), Nf4Reference.Floats(c["absmax"]!), "absmax");

        using var d = q.Dequantize();
        Assert.That(d.DType, Is.EqualTo(bf16 ? DType.BFloat16 : DType.Float32));
        Assert.That(d.Shape, Is.EqualTo(shape));
        using var d32 = d.To(DType.Float32);
        AssertValues(d32.ToArray<float>(), Nf4Reference.Floats(c["dequantized"]!), "dequantized");
    }

    [Test]
    public void Levels_MatchReference() =>
        Assert.That(Nf4.Levels, Is.EqualTo(Nf4Reference.Floats(Nf4Reference.Document["nf4_levels"]!)));
}
