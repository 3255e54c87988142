using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Benchmarks;

/// <summary>One case's timings under one cache state.</summary>
internal sealed record IoResult(
    string Name,
    string Direction,
    string Cache,
    string Description,
    long Bytes,
    IReadOnlyList<double> Seconds,
    double MedianSeconds,
    double MinSeconds,
    double MedianMBps,
    double BestMBps,
    double RatioToBaseline);

/// <summary>
/// Checkpoint I/O on a generated safetensors file of <see cref="BenchOptions.SizeMiB"/> (16 float32 tensors of
/// 64 MiB for the default 1 GiB). A Stopwatch harness rather than BenchmarkDotNet: one operation moves a gigabyte
/// and takes 0.1-5 s, so BenchmarkDotNet's pilot, warm-up and 15+ iterations per case would run for many minutes
/// while adding nothing a median of a few runs does not show; cold runs also need the page cache dropped before
/// each run, which its iteration loop cannot do.
/// </summary>
internal static class IoSuite
{
    private const long Side = 4096; // [4096, 4096] float32 = 64 MiB per tensor

    public static void Run(BenchOptions options)
    {
        string dir = Path.Combine(Path.GetFullPath(options.TempRoot), "mlnetlora-io-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            RunIn(dir, options);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void RunIn(string dir, BenchOptions options)
    {
        var machine = MachineInfo.Collect(dir);
        int count = options.SizeMiB / 64;
        string checkpoint = Path.Combine(dir, "model.safetensors");
        var tensors = new List<KeyValuePair<string, Tensor>>();
        for (int i = 0; i < count; i++)
            tensors.Add(new($"model.layers.{i}.weight", Tensor.Full([Side, Side], i + 0.5)));
        try
        {
            var generate = Stopwatch.StartNew();
            SafeTensorsWriter.Write(checkpoint, tensors, new Dictionary<string, string> { ["format"] = "pt" });
            Console.WriteLine($"Generated {checkpoint}: {new FileInfo(checkpoint).Length:N0} bytes in {generate.Elapsed.TotalSeconds:F2} s");
            var cases = new IoCases(checkpoint, Path.Combine(dir, "written.safetensors"), Path.Combine(dir, "baseline.bin"), tensors).Select(options.Cases);
            var samples = Measure(cases, options, out string? coldNote);
            var results = Summarise(cases, samples);
            PrintTable(results);
            ResultFile.Write(options.OutputDirectory, options.ResultName("io"), new
            {
                Suite = "io",
                Date = DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture),
                Machine = machine,
                LoadAverageAfter = MachineInfo.Collect().LoadAverage,
                Config = new
                {
                    FileBytes = cases.CheckpointBytes,
                    Tensors = count,
                    TensorShape = new[] { Side, Side },
                    DType = "F32",
                    // libtorch reads this once: 1 makes its CPU allocator ask for huge pages for blocks >= 2 MiB.
                    ThpMemAllocEnable = Environment.GetEnvironmentVariable("THP_MEM_ALLOC_ENABLE"),
                    WarmReps = options.WarmReps,
                    ColdReps = options.Cold && coldNote is null ? options.ColdReps : 0,
                    Units = "MB = 10^6 bytes; seconds per whole-file operation",
                    Ratio = "case median MB/s / baseline median MB/s, same direction and cache state (>= 1: not slower)",
                },
                Warm = "the file was just written (and every case ran once untimed), so it is served from the page cache",
                Cold = coldNote ?? (options.Cold ? "sync + echo 3 > /proc/sys/vm/drop_caches before every cold run" : "skipped (--no-cold)"),
                Results = results,
            });
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
    }

    private static Dictionary<(string Name, string Cache), List<double>> Measure(IoCases cases, BenchOptions options, out string? coldNote)
    {
        var samples = new Dictionary<(string, string), List<double>>();
        // Untimed first pass: JIT-compiles every path and leaves the file fully in the page cache.
        foreach (var c in cases.All) Time(cases, c);
        for (int rep = 1; rep <= options.WarmReps; rep++)
        {
            foreach (var c in Shuffle(cases.All, rep)) Record(samples, c, "warm", Time(cases, c), rep);
        }
        coldNote = null;
        if (!options.Cold) return samples;
        for (int rep = 1; rep <= options.ColdReps && coldNote is null; rep++)
        {
            foreach (var c in Shuffle(cases.All.Where(c => c.Direction == "read").ToList(), 1000 + rep))
            {
                coldNote = PageCache.TryDrop();
                if (coldNote is not null)
                {
                    Console.WriteLine($"Cold runs skipped: {coldNote}");
                    samples.Keys.Where(k => k.Item2 == "cold").ToList().ForEach(k => samples.Remove(k));
                    break;
                }
                Record(samples, c, "cold", Time(cases, c), rep);
            }
        }
        return samples;
    }

    /// <summary>
    /// The cases in a new order each repetition (seeded, so reruns use the same orders). Interleaving spreads drift
    /// from other processes over all cases; shuffling rather than rotating also changes which case runs right after
    /// which. That matters here: a case that ran just after another had freed a gigabyte of 4 KiB pages was several
    /// times slower when it allocated huge pages, whatever the case was.
    /// </summary>
    private static List<IoCase> Shuffle(IReadOnlyList<IoCase> all, int rep)
    {
        var order = all.ToList();
        new Random(rep).Shuffle(CollectionsMarshal.AsSpan(order));
        return order;
    }

    private static double Time(IoCases cases, IoCase c)
    {
        if (c.Direction == "write") cases.ResetWriteTargets();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var clock = Stopwatch.StartNew();
        var leftovers = c.Run();
        double seconds = clock.Elapsed.TotalSeconds;
        leftovers?.Dispose();
        return seconds;
    }

    private static void Record(Dictionary<(string, string), List<double>> samples, IoCase c, string cache, double seconds, int rep)
    {
        if (!samples.TryGetValue((c.Name, cache), out var list)) samples[(c.Name, cache)] = list = [];
        list.Add(seconds);
        Console.WriteLine($"  {cache} #{rep} {c.Name,-20} {seconds * 1000,9:F1} ms");
    }

    private static List<IoResult> Summarise(IoCases cases, Dictionary<(string Name, string Cache), List<double>> samples)
    {
        long bytes = cases.CheckpointBytes;
        double MBps(double seconds) => bytes / seconds / 1e6;
        var results = new List<IoResult>();
        foreach (string cache in new[] { "warm", "cold" })
        {
            foreach (var c in cases.All)
            {
                if (!samples.TryGetValue((c.Name, cache), out var s)) continue;
                string baseline = c.Direction == "read" ? "read.baseline" : "write.baseline";
                double median = Median(s);
                double baseMedian = Median(samples[(baseline, cache)]);
                results.Add(new IoResult(c.Name, c.Direction, cache, c.Description, bytes, s.Select(x => Math.Round(x, 4)).ToList(),
                    Math.Round(median, 4), Math.Round(s.Min(), 4), Math.Round(MBps(median)), Math.Round(MBps(s.Min())),
                    Math.Round(baseMedian / median, 3)));
            }
        }
        return results;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static void PrintTable(List<IoResult> results)
    {
        Console.WriteLine();
        Console.WriteLine("| case | cache | runs | median s | min s | median MB/s | best MB/s | vs baseline |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Name} | {r.Cache} | {r.Seconds.Count} | {r.MedianSeconds:F3} | {r.MinSeconds:F3} | {r.MedianMBps:F0} | {r.BestMBps:F0} | {r.RatioToBaseline:F2} |"));
        }
        Console.WriteLine();
    }
}
