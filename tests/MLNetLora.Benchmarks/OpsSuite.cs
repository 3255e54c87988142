using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace MLNetLora.Benchmarks;

/// <summary>Runs <see cref="OpsBenchmarks"/> with BenchmarkDotNet and stores the summary as JSON.</summary>
internal static class OpsSuite
{
    private static readonly Dictionary<string, string> Descriptions = new()
    {
        [nameof(OpsBenchmarks.Empty16)] = "Tensor.Empty([16]) + Dispose: allocation and handle only, the floor under every op",
        [nameof(OpsBenchmarks.Add16Shim)] = "16-element float32 add via the typed shim aoti_torch_aten_subtract_Tensor",
        [nameof(OpsBenchmarks.Mul16Dispatcher)] = "16-element float32 mul via the boxed dispatcher (aten::mul.Tensor)",
        [nameof(OpsBenchmarks.MatMul512)] = "512x512 float32 matmul via the dispatcher (268 MFLOP)",
    };

    public static void Run(BenchOptions options)
    {
        // In-process: the default toolchain generates and builds a separate project for every run, which costs a
        // minute on two cores and needs the package feed; these ops need no process isolation to be measured.
        // 10 iterations of 250 ms keep the whole suite near a minute.
        var job = Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(10)
            .WithIterationTime(TimeInterval.FromMilliseconds(250));
        var config = DefaultConfig.Instance
            .AddJob(job)
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "mlnetlora-bdn"));
        var machine = MachineInfo.Collect();
        var summary = BenchmarkRunner.Run<OpsBenchmarks>(config);
        var baseline = summary.Reports.FirstOrDefault(r => r.BenchmarkCase.Descriptor.Baseline)?.ResultStatistics?.Median;
        var results = summary.Reports.Select(r => new
        {
            Name = r.BenchmarkCase.Descriptor.WorkloadMethod.Name,
            Description = Descriptions.GetValueOrDefault(r.BenchmarkCase.Descriptor.WorkloadMethod.Name),
            Baseline = r.BenchmarkCase.Descriptor.Baseline,
            Success = r.Success,
            MeanNs = Round(r.ResultStatistics?.Mean),
            MedianNs = Round(r.ResultStatistics?.Median),
            MinNs = Round(r.ResultStatistics?.Min),
            StdDevNs = Round(r.ResultStatistics?.StandardDeviation),
            AllocatedBytesPerOp = r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase),
            RatioToBaseline = baseline is > 0 && r.ResultStatistics is not null ? Math.Round(r.ResultStatistics.Median / baseline.Value, 3) : (double?)null,
        }).ToList();
        ResultFile.Write(options.OutputDirectory, options.ResultName("ops"), new
        {
            Suite = "ops",
            Date = DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture),
            Machine = machine,
            LoadAverageAfter = MachineInfo.Collect().LoadAverage,
            Tool = $"BenchmarkDotNet {typeof(BenchmarkRunner).Assembly.GetName().Version}, in-process, 1 launch, 3 warm-up + 10 x 250 ms iterations",
            Ratio = "median / median of Add16Shim (the baseline, measured in the same run)",
            Results = results,
        });
    }

    private static double? Round(double? ns) => ns is null ? null : Math.Round(ns.Value, 1);
}
