using MLNetLora.LibTorch;
using MLNetLora.Models.Lora;
using MLNetLora.Models.Transformer;
using MLNetLora.Training.Data;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Benchmarks;

/// <summary>
/// The trainer's memory estimate against what a run really takes: one method per process (run the suite
/// once per case), the train suite's model, three trainer steps, and the growth of peak RSS from just
/// before the trainer is built. A fresh process matters: an allocator keeps freed memory, so an earlier
/// phase's peak would hide this one's.
/// </summary>
internal static class MemorySuite
{
    public static void Run(BenchOptions options)
    {
        string method = options.Cases is [var only] ? only : throw new ArgumentException("memory: give one method with --cases lora|qlora|full (one per process).");
        var m = method switch
        {
            "lora" => FineTuneMethod.Lora,
            "qlora" => FineTuneMethod.QLora,
            "full" => FineTuneMethod.Full,
            _ => throw new ArgumentException($"memory: unknown method '{method}'; use lora, qlora or full."),
        };
        const int batch = 8, seq = 256;
        var inv = Enumerable.Range(0, 32).Select(i => 1.0 / Math.Pow(10000, 2.0 * i / 64)).ToArray();
        var spec = new DecoderSpec(Architecture.Llama, 512, 1408, 4, 8, 4, 64, 4096, 1e-5,
            TiedEmbeddings: false, QkvBias: false, QkNorm: false, FusedProjections: false, inv, 1.0, seq);
        var g = new Generator(1);
        using var model = RaceSuite.BuildModel(spec, DType.Float32, Device.Cpu, g);
        var rows = Enumerable.Range(0, batch).Select(r => new TrainingExample(Enumerable.Range(0, seq).Select(i => (r * 7 + i) % spec.VocabSize).ToArray())).ToList();
        var b = Collator.Collate(rows, 0, seq);
        GC.Collect();
        long before = Status("VmRSS:");
        File.WriteAllText("/proc/self/clear_refs", "5");   // VmHWM restarts from the current RSS
        var o = new TrainerOptions
        {
            Method = m, BatchSize = batch, MaxLength = seq, LearningRate = 1e-4, Scheduler = ScheduleKind.Constant, WarmupSteps = 0,
            Lora = new LoraSettings { Rank = 16, Alpha = 32, Dropout = 0, TargetModules = LoraSettings.AllLinear },
        };
        using var trainer = new LoraTrainer(model, o);
        var estimate = MemoryEstimate.For(model, o);
        trainer.Prepare(3);
        for (int i = 0; i < 3; i++) trainer.Step([b]);
        long growth = Status("VmHWM:") - before;
        double Mib(long x) => x / 1048576.0;
        Console.WriteLine($"| {method} | {Mib(estimate.WeightBytes):F0} | {Mib(estimate.GradientBytes):F0} | {Mib(estimate.OptimizerBytes):F0} | " +
            $"{Mib(estimate.ActivationBytes):F0} | {Mib(estimate.AdditionalBytes):F0} | {Mib(growth):F0} |");
        ResultFile.Write(options.OutputDirectory, options.ResultName("memory-" + method), new
        {
            suite = "memory", method, machine = MachineInfo.Collect(), batch, seq,
            estimate = new { estimate.WeightBytes, estimate.GradientBytes, estimate.OptimizerBytes, estimate.ActivationBytes, estimate.AdditionalBytes },
            measuredPeakGrowthBytes = growth,
        });
    }

    // A /proc/self/status field in bytes.
    private static long Status(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        return 0;
    }
}
