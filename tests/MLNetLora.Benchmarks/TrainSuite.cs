using System.Diagnostics;
using MLNetLora.LibTorch;
using MLNetLora.Models.Lora;
using MLNetLora.Models.Transformer;
using MLNetLora.Training.Optim;

namespace MLNetLora.Benchmarks;

/// <summary>
/// Training-step throughput on a synthetic Llama (hidden 512, 4 layers, GQA 8/4, vocab 4096, LoRA
/// r=16 on every linear, batch 8 × 256 tokens, float32 CPU), against a dense matmul of the model's
/// own MLP shape measured in the same run: the ratio says how close the step gets to the machine's
/// matmul speed, so it can be compared across machines.
/// </summary>
internal static class TrainSuite
{
    private const int Hidden = 512, Inter = 1408, Layers = 4, Heads = 8, KvHeads = 4, HeadDim = 64, Vocab = 4096, Batch = 8, Seq = 256;

    public static void Run(BenchOptions options)
    {
        var g = new Generator(1);
        using var model = BuildModel(g);
        using var ids = Tensor.Rand([Batch, Seq], g, 0, Vocab - 1).To(DType.Int64);
        long[] labels = ids.ToArray<long>();
        int reps = Math.Max(3, options.WarmReps);

        double matmul = Median(reps, () =>
        {
            using var a = Tensor.Randn([Batch * Seq, Hidden], g);
            using var w = Tensor.Randn([Inter, Hidden], g);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < 10; i++) a.Linear(w).Dispose();
            return sw.Elapsed.TotalSeconds / 10;
        });
        double matmulGflops = 2.0 * Batch * Seq * Hidden * Inter / matmul / 1e9;
        double forward = Median(reps, () => Time(() => model.ComputeLogits(ids).Dispose()));
        double step = Median(reps, () => Time(() => model.CausalLmStep(ids, labels).DEmbeddings!.Dispose()));
        using var loraAdam = new AdamW([new ParameterGroup("lora", model.Adapters.Values.SelectMany(a => new[] { a.A, a.B }).ToList(),
            model.Adapters.Values.SelectMany(a => new[] { a.GradA, a.GradB }).ToList())]);
        double loraOptimizer = Median(reps, () => Time(() => loraAdam.Update(1e-4)));
        model.GradientCheckpointing = true;
        double stepCkpt = Median(reps, () => Time(() => model.CausalLmStep(ids, labels).DEmbeddings!.Dispose()));

        // Full fine-tuning of the same weights: the step adds the weight-gradient matmuls (another 2·P·N),
        // and AdamW updates every parameter instead of the adapters' 1.6%.
        model.RemoveLora();
        model.GradientCheckpointing = false;
        model.TrainBaseWeights(new FullTuningSettings());
        double fullStep = Median(reps, () => Time(() => { model.ZeroGrad(); model.CausalLmStep(ids, labels).DEmbeddings!.Dispose(); }));
        using var fullAdam = new AdamW([new ParameterGroup("weights", model.TrainableWeights.Select(w => w.Value).ToList(), model.TrainableWeights.Select(w => w.Grad).ToList())]);
        double fullOptimizer = Median(reps, () => Time(() => fullAdam.Update(1e-5)));
        long trained = model.TrainableWeightCount;

        // QLoRA: the same adapters over an NF4 base, which every forward and backward matmul decodes first.
        using var qmodel = BuildModel(new Generator(1), quantize: true);
        var nf4 = Models.Quantization.QuantizationReport.ForModel(qmodel);
        double qloraStep = Median(reps, () => Time(() => { qmodel.ZeroGrad(); qmodel.CausalLmStep(ids, labels).DEmbeddings!.Dispose(); }));

        // Matmul FLOPs only (attention adds ~4%): forward 2·P·N; a LoRA step adds the input-gradient
        // matmuls (another 2·P·N) and the small LoRA factor gradients.
        double p = Layers * ((double)Hidden * Hidden * 2 + 2.0 * Hidden * KvHeads * HeadDim + 3.0 * Hidden * Inter) + (double)Vocab * Hidden;
        double tokens = Batch * Seq;
        var rows = new[]
        {
            Row("matmul baseline (2048×512 · 512×1408)", matmul, matmulGflops, 1.0, null),
            Row("forward (logits)", forward, 2 * p * tokens / forward / 1e9, 2 * p * tokens / forward / 1e9 / matmulGflops, tokens / forward),
            Row("LoRA train step", step, 4 * p * tokens / step / 1e9, 4 * p * tokens / step / 1e9 / matmulGflops, tokens / step),
            Row("LoRA train step, gradient checkpointing", stepCkpt, 6 * p * tokens / stepCkpt / 1e9, 6 * p * tokens / stepCkpt / 1e9 / matmulGflops, tokens / stepCkpt),
            Row("LoRA AdamW update (adapters only)", loraOptimizer, 0, 0, null),
            Row($"QLoRA train step (NF4 base, {nf4.BytesPerQuantizedWeight:F3} bytes/weight)", qloraStep, 4 * p * tokens / qloraStep / 1e9, 4 * p * tokens / qloraStep / 1e9 / matmulGflops, tokens / qloraStep),
            Row("full fine-tuning step (every weight gradient)", fullStep, 6 * p * tokens / fullStep / 1e9, 6 * p * tokens / fullStep / 1e9 / matmulGflops, tokens / fullStep),
            Row($"full fine-tuning AdamW update ({trained / 1e6:F1}M parameters)", fullOptimizer, 0, 0, null),
            Row("full fine-tuning step + AdamW", fullStep + fullOptimizer, 6 * p * tokens / (fullStep + fullOptimizer) / 1e9,
                6 * p * tokens / (fullStep + fullOptimizer) / 1e9 / matmulGflops, tokens / (fullStep + fullOptimizer)),
        };
        Console.WriteLine("| case | median s | GFLOP/s | vs matmul | tokens/s |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var r in rows)
            Console.WriteLine($"| {r.Case} | {r.MedianSeconds:G3} | {r.Gflops:F1} | {r.VsMatmul:F2} | {(r.TokensPerSecond is double t ? t.ToString("F0", System.Globalization.CultureInfo.InvariantCulture) : "")} |");
        ResultFile.Write(options.OutputDirectory, options.ResultName("train"), new
        {
            suite = "train",
            machine = MachineInfo.Collect(),
            model = new { Hidden, Inter, Layers, Heads, KvHeads, HeadDim, Vocab, Batch, Seq, loraRank = 16, dtype = "float32", parameters = p },
            qloraBaseBytes = nf4.TotalBytes, bf16BaseBytes = nf4.Bf16Bytes, fullTunedParameters = trained,
            repetitions = reps,
            results = rows,
        });
    }

    private static Result Row(string name, double seconds, double gflops, double ratio, double? tokensPerSecond) =>
        new(name, seconds, gflops, ratio, tokensPerSecond);

    private sealed record Result(string Case, double MedianSeconds, double Gflops, double VsMatmul, double? TokensPerSecond);

    private static DecoderModel BuildModel(Generator g, bool quantize = false)
    {
        var inv = Enumerable.Range(0, HeadDim / 2).Select(i => 1.0 / Math.Pow(10000, 2.0 * i / HeadDim)).ToArray();
        var spec = new DecoderSpec(Architecture.Llama, Hidden, Inter, Layers, Heads, KvHeads, HeadDim, Vocab, 1e-5,
            TiedEmbeddings: false, QkvBias: false, QkNorm: false, FusedProjections: false, inv, 1.0, Seq);
        var model = RaceSuite.BuildModel(spec, DType.Float32, Device.Cpu, g);
        if (quantize) model.QuantizeBaseWeights(doubleQuant: true);
        model.AddLora(new LoraSettings { Rank = 16, Alpha = 32, TargetModules = LoraSettings.AllLinear }, g);
        return model;
    }

    private static double Time(Action a)
    {
        var sw = Stopwatch.StartNew();
        a();
        return sw.Elapsed.TotalSeconds;
    }

    private static double Median(int reps, Func<double> measure)
    {
        measure(); // warm-up: first calls pay for JIT and allocator growth
        var xs = Enumerable.Range(0, reps).Select(_ => measure()).Order().ToArray();
        return xs[xs.Length / 2];
    }
}
