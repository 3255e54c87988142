using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Tests.Cli;

/// <summary>Paths and reference tensors of the llama fixture, shared by the CLI's compute tests.</summary>
internal static class CliFixture
{
    public const double LogitTolerance = 1e-4;

    public static string Llama => TestPaths.Fixture("llama");

    public static string Reference => Path.Combine(Llama, "reference.safetensors");

    public static string Adapter => Path.Combine(Llama, "adapter");

    public static double[] ReferenceTensor(string name)
    {
        using var file = SafeTensorsFile.Open(Reference);
        using var t = file.Load(name);
        return t.ToArray<double>();
    }

    /// <summary>The logits a forward run wrote, after checking their name, dtype and shape.</summary>
    public static double[] ReadLogits(string path, long[] expectedShape)
    {
        using var file = SafeTensorsFile.Open(path);
        var info = file.GetInfo("logits");
        Assert.That(info.DType, Is.EqualTo(DType.Float32));
        Assert.That(info.Shape, Is.EqualTo(expectedShape));
        using var t = file.Load("logits");
        return t.ToArray<double>();
    }

    public static long[] ReferenceShape(string name)
    {
        using var file = SafeTensorsFile.Open(Reference);
        return file.GetInfo(name).Shape;
    }

    /// <summary>Writes a safetensors file with the given tensors (for inputs the fixture does not have).</summary>
    public static string WriteInput(string dir, params (string Name, Tensor Value)[] tensors)
    {
        string path = Path.Combine(dir, "input.safetensors");
        SafeTensorsWriter.Write(path, tensors.Select(t => new KeyValuePair<string, Tensor>(t.Name, t.Value)));
        return path;
    }
}
