using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Tests.Checkpoints;

public class SafeTensorsConcurrencyTests : TempDirFixture
{
    [Test]
    public void LoadAndReadBytes_ConcurrentlyOnOneFile_EveryReadGetsItsOwnTensor()
    {
        // Reads share one file handle; each must use its own offset, so interleaved loads cannot mix tensors.
        string path = Path.Combine(Dir, "many.safetensors");
        var tensors = Enumerable.Range(0, 8)
            .Select(i => new KeyValuePair<string, Tensor>($"t{i}", Tensor.Full([64, 1000], i, DType.Int32)))
            .ToList();
        try
        {
            SafeTensorsWriter.Write(path, tensors);
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
        using var file = SafeTensorsFile.Open(path);
        var wrong = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 200, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            int k = i % 8;
            using var t = file.Load($"t{k}");
            if (t.ToArray<int>().Any(v => v != k)) wrong.Add($"Load t{k}");
            byte[] bytes = file.ReadBytes($"t{k}");
            if (BitConverter.ToInt32(bytes, bytes.Length - 4) != k) wrong.Add($"ReadBytes t{k}");
        });
        Assert.That(wrong, Is.Empty);
    }
}
