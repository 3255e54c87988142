using System.Globalization;

namespace MLNetLora.Benchmarks;

/// <summary>Command-line options shared by the suites.</summary>
internal sealed record BenchOptions(
    IReadOnlyList<string> Suites,
    string OutputDirectory,
    int SizeMiB,
    int WarmReps,
    int ColdReps,
    bool Cold,
    string TempRoot,
    string? Tag,
    IReadOnlyList<string>? Cases)
{
    /// <summary>race: the device (<c>cuda</c> on the GPU machine, <c>cpu</c> for a dry run).</summary>
    public string Device { get; init; } = "cuda";

    /// <summary>race: the shapes to run, in order.</summary>
    public IReadOnlyList<string> Shapes { get; init; } = ["smollm2-135m", "llama3.2-1b"];

    /// <summary>race: sequences per batch, tokens per sequence, steps, untimed first steps (peft_reference.py's defaults).</summary>
    public int Batch { get; init; } = 8;

    /// <inheritdoc cref="Batch"/>
    public int Seq { get; init; } = 1024;

    /// <inheritdoc cref="Batch"/>
    public int Steps { get; init; } = 16;

    /// <inheritdoc cref="Batch"/>
    public int Warm { get; init; } = 6;

    /// <summary>race: the device's measured bf16 matmul TFLOP/s, for model-FLOPs utilisation; null leaves it out.</summary>
    public double? PeakTflops { get; init; }

    public const string Usage = """
        usage: MLNetLora.Benchmarks <suite>... [options]
          suites:  io    checkpoint I/O on a generated ~1 GiB safetensors file (Stopwatch harness)
                   ops   per-op overhead of the libtorch binding (BenchmarkDotNet)
                   train training-step throughput of a synthetic Llama against a matmul baseline
                   torch our LoRA step against PyTorch eager on the same cores (needs /usr/bin/python3 with python3-torch),
                         alternating A B / B A; --cases suite,smollm2-135m picks shapes; --reps N pairs (default 5)
                   memory the trainer's memory estimate against the peak RSS growth of a run; --cases lora|qlora|full, one per process
                   data  tokenizing and collating a ~100 MB JSONL (--size-mib / 10 MB) against the step's tokens/s
                   race  our LoRA step on the GPU race's shapes (see docs/performance.md), JSON lines as peft_reference.py's
                   all   io, ops and train
          --size-mib N   size of the generated file for io (default 1024, a multiple of 64)
          --reps N       warm repetitions per io case (default 5)
          --cold-reps N  cold repetitions per io read case (default 3; needs root for drop_caches)
          --no-cold      skip the cold runs
          --tmp DIR      where io writes its files (default: the system temp folder)
          --out DIR      where results go (default: docs/benchmarks under the repository root)
          --tag NAME     write <suite>-NAME.json instead of <suite>.json (e.g. for a run with other settings)
          --cases A,B    io: run only these cases (the two baselines always run)
          --device D     race: cuda (default) or cpu (a dry run)
          --shapes A,B   race: smollm2-135m, llama3.2-1b (default both) or tiny
          --batch N --seq N --steps N --warm N   race: default 8, 1024, 16, 6 (as peft_reference.py)
          --peak-tflops X  race: the device's bf16 matmul TFLOP/s, to report model-FLOPs utilisation
        """;

    private static readonly string[] KnownSuites = ["io", "ops", "train"];

    /// <summary>The result file's name for a suite, without the extension.</summary>
    public string ResultName(string suite) => Tag is null ? suite : $"{suite}-{Tag}";

    public static BenchOptions? Parse(string[] args)
    {
        var suites = new List<string>();
        string? output = null, tag = null;
        List<string>? cases = null;
        string temp = Path.GetTempPath();
        int size = 1024, warm = 5, cold = 3;
        bool doCold = true;
        var race = new BenchOptions([], "", 0, 0, 0, false, "", null, null);
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => ++i < args.Length ? args[i] : throw new ArgumentException($"{a} needs a value.");
            switch (a)
            {
                case "all": suites.AddRange(KnownSuites); break;
                case "io" or "ops" or "train" or "race" or "torch" or "data" or "memory": suites.Add(a); break;
                case "--device": race = race with { Device = Next() }; break;
                case "--shapes": race = race with { Shapes = [.. Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] }; break;
                case "--batch": race = race with { Batch = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--seq": race = race with { Seq = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--steps": race = race with { Steps = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--warm": race = race with { Warm = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--peak-tflops": race = race with { PeakTflops = double.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--size-mib": size = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--reps": warm = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--cold-reps": cold = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--no-cold": doCold = false; break;
                case "--tmp": temp = Next(); break;
                case "--out": output = Next(); break;
                case "--tag": tag = Next(); break;
                case "--cases": cases = [.. Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; break;
                default:
                    Console.Error.WriteLine($"Unknown argument '{a}'.");
                    return null;
            }
        }
        if (suites.Count == 0 || size < 64 || size % 64 != 0 || warm < 1 || cold < 1 || race.Warm < 0 || race.Steps <= race.Warm) return null;
        return new BenchOptions(suites.Distinct().ToList(), output ?? DefaultOutput(), size, warm, cold, doCold, temp, tag, cases)
        {
            Device = race.Device, Shapes = race.Shapes, Batch = race.Batch, Seq = race.Seq, Steps = race.Steps, Warm = race.Warm, PeakTflops = race.PeakTflops,
        };
    }

    /// <summary>docs/benchmarks next to MLNetLora.sln, found by walking up from the working directory.</summary>
    private static string DefaultOutput()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MLNetLora.sln")))
                return Path.Combine(dir.FullName, "docs", "benchmarks");
        }
        return Path.Combine(Directory.GetCurrentDirectory(), "benchmark-results");
    }
}
