using BenchmarkDotNet.Attributes;
using MLNetLora.LibTorch;

namespace MLNetLora.Benchmarks;

/// <summary>
/// Per-call overhead of the binding. Add goes through a typed AOTI shim function (one native call), Mul through
/// libtorch's boxed dispatcher (op name lookup, stack encoding, a new handle per argument); on 16 elements the
/// arithmetic is negligible, so the difference is the route. Empty is the floor every op pays: one allocation and
/// one handle. The 512x512 matmul shows where overhead stops mattering.
/// </summary>
[MemoryDiagnoser]
public class OpsBenchmarks
{
    private readonly long[] smallShape = [16];
    private Tensor small = null!;
    private Tensor smallOther = null!;
    private Tensor square = null!;
    private Tensor squareOther = null!;

    /// <summary>Creates the inputs once; libtorch is loaded here, outside the timed calls.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(42);
        small = Tensor.Rand([16], g);
        smallOther = Tensor.Rand([16], g);
        square = Tensor.Rand([512, 512], g);
        squareOther = Tensor.Rand([512, 512], g);
    }

    /// <summary>Frees the inputs.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { small, smallOther, square, squareOther }) t.Dispose();
    }

    /// <summary>Allocation of a 16-element tensor and its handle, no op.</summary>
    [Benchmark]
    public void Empty16()
    {
        using var r = Tensor.Empty(smallShape);
    }

    /// <summary>16-element add through the typed shim (<c>aoti_torch_aten_subtract_Tensor</c>).</summary>
    [Benchmark(Baseline = true)]
    public void Add16Shim()
    {
        using var r = small.Add(smallOther);
    }

    /// <summary>16-element multiply through the boxed dispatcher (<c>aten::mul.Tensor</c>).</summary>
    [Benchmark]
    public void Mul16Dispatcher()
    {
        using var r = small.Mul(smallOther);
    }

    /// <summary>512x512 float32 matmul through the dispatcher (about 268 MFLOP).</summary>
    [Benchmark]
    public void MatMul512()
    {
        using var r = square.MatMul(squareOther);
    }
}
