using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Generation;
using MLNetLora.Models.Lora;
using MLNetLora.Models.Transformer;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetLora.Training.Optim;

namespace MLNetLora.Benchmarks;

/// <summary>
/// Our LoRA step side by side with PyTorch eager on the same cores: the same synthetic weights, adapters
/// and tokens are written to files, a PyTorch process (<see cref="TorchReference"/>) loads them, and the
/// two sides alternate (A B, then B A) step by step. It reports medians, the median of paired ratios,
/// each side's step as a fraction of its own matmul speed, a phase breakdown, greedy generation with a
/// KV cache, peak memory, and the first-step loss of both (equal weights must give an equal loss).
/// </summary>
internal static class TorchSuite
{
    private sealed record Shape(string Name, DecoderSpec Spec, double RopeTheta, int Batch, int Seq);

    private const int Rank = 16, Alpha = 32, Threads = 2;

    public static void Run(BenchOptions options)
    {
        string script = Path.Combine(RepoRoot(), "tools", "bench", "torch_llama.py");
        if (TorchReference.Unavailable(script) is string why)
        {
            Console.Error.WriteLine($"torch: skipped, {why}.");
            return;
        }
        int reps = Math.Max(3, options.WarmReps);
        var shapes = new List<Shape>
        {
            new("suite", Suite(), 10000, 8, 256),
            new("smollm2-135m", RaceShapes.Spec("smollm2-135m", 256), 500000, 1, 256),
        }.Where(s => options.Cases is null || options.Cases.Contains(s.Name)).ToList();
        var results = shapes.Select(s => RunShape(s, script, reps)).ToList();
        Console.WriteLine();
        Console.WriteLine("| shape | MLNetLora tok/s | PyTorch tok/s | time ratio (PyTorch / ours) | step / own matmul speed | first loss | peak RSS MiB |");
        Console.WriteLine("| --- | ---: | ---: | ---: | --- | --- | --- |");
        foreach (var r in results)
            Console.WriteLine($"| {r["shape"]} | {N(r["ours"]!["tokens_per_s"]):F0} | {N(r["torch"]!["tokens_per_s"]):F0} | {N(r["paired_ratio"]):F2} | " +
                $"{N(r["ours"]!["matmul_fraction"]):F2} vs {N(r["torch"]!["matmul_fraction"]):F2} | {N(r["ours"]!["first_loss"]):F5} vs {N(r["torch"]!["first_loss"]):F5} | " +
                $"{N(r["ours"]!["peak_rss_mib"]):F0} vs {N(r["torch"]!["peak_rss_mib"]):F0} |");
        Console.WriteLine();
        foreach (var r in results.Where(r => r["ours"]!["mlnet_score_rows_per_s"] is not null))
            Console.WriteLine($"classification scoring, {r["shape"]}, rows of {r["seq"]} tokens: ML.NET Transform {N(r["ours"]!["mlnet_score_rows_per_s"]):F1} rows/s, PyTorch forward + head {N(r["torch"]!["score_rows_per_s"]):F1} rows/s");
        Console.WriteLine();
        foreach (var r in results)
            Console.WriteLine($"greedy decoding, {r["shape"]}, batch 1: ours float32 {N(r["ours"]!["generate_b1"]):F1}, ours bfloat16 weights {N(r["ours"]!["generate_b1_bf16"]):F1}, PyTorch float32 {N(r["torch"]!["generate_b1"]):F1} tokens/s");
        Console.WriteLine();
        Console.WriteLine("| shape | side | forward s | LM head + loss s | backward s | optimizer s | step s | greedy tok/s b=1 | greedy tok/s b=16 |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
            foreach (string side in new[] { "ours", "torch" })
            {
                var s = r[side]!;
                Console.WriteLine($"| {r["shape"]} | {side} | {N(s["forward"]):F3} | {N(s["loss"]):F3} | {N(s["backward"]):F3} | {N(s["optimizer"]):F4} | {N(s["step"]):F3} | " +
                    $"{N(s["generate_b1"]):F1} | {N(s["generate_b16"]):F1} |");
            }
        ResultFile.Write(options.OutputDirectory, options.ResultName("torch"), new
        {
            suite = "torch",
            machine = MachineInfo.Collect(),
            repetitions = reps,
            threads = Threads,
            results,
        });
    }

    private static double N(JsonNode? n) => n?.GetValue<double>() ?? double.NaN;

    private static DecoderSpec Suite()
    {
        const int headDim = 64;
        var inv = Enumerable.Range(0, headDim / 2).Select(i => 1.0 / Math.Pow(10000, 2.0 * i / headDim)).ToArray();
        return new DecoderSpec(Architecture.Llama, 512, 1408, 4, 8, 4, headDim, 4096, 1e-5,
            TiedEmbeddings: false, QkvBias: false, QkNorm: false, FusedProjections: false, inv, 1.0, 256);
    }

    private static JsonObject RunShape(Shape shape, string script, int reps)
    {
        var spec = shape.Spec;
        using var model = BuildLoraModel(spec, DType.Float32);
        var lora = Lora;
        using var ids = Tensor.Rand([shape.Batch, shape.Seq], new Generator(2), 0, spec.VocabSize - 1).To(DType.Int64);
        long[] labels = ids.ToArray<long>();

        string dir = Path.Combine(Path.GetTempPath(), "mlnetlora-torch-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string weights = Path.Combine(dir, "model.safetensors"), config = Path.Combine(dir, "config.json"), idsFile = Path.Combine(dir, "ids.bin");
            SafeTensorsWriter.Write(weights, model.NamedWeights());
            PeftAdapterIO.Save(model, lora, dir, "synthetic");
            File.WriteAllBytes(idsFile, labels.SelectMany(BitConverter.GetBytes).ToArray());
            File.WriteAllText(config, new JsonObject
            {
                ["hidden_size"] = spec.HiddenSize, ["intermediate_size"] = spec.IntermediateSize, ["num_hidden_layers"] = spec.NumLayers,
                ["num_attention_heads"] = spec.NumHeads, ["num_key_value_heads"] = spec.NumKvHeads, ["head_dim"] = spec.HeadDim,
                ["vocab_size"] = spec.VocabSize, ["rms_norm_eps"] = spec.RmsNormEps, ["rope_theta"] = shape.RopeTheta,
                ["tie_word_embeddings"] = spec.TiedEmbeddings, ["batch"] = shape.Batch, ["seq"] = shape.Seq, ["lora_rank"] = Rank, ["lora_alpha"] = Alpha,
            }.ToJsonString());
            using var torch = TorchReference.Start(script, config, weights, Path.Combine(dir, PeftAdapterIO.WeightsFileName), idsFile, Threads);
            Console.Error.WriteLine($"torch: {shape.Name}: {torch.Ready.ToJsonString()}");
            Console.Error.WriteLine($"ours: {shape.Name}: libtorch {Torch.Info.Version} (MKL, as linked by libtorch-cpu), {Environment.ProcessorCount} intra-op threads (libtorch's default, the core count)");
            return Measure(shape, model, ids, labels, torch, reps);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static readonly LoraSettings Lora = new() { Rank = Rank, Alpha = Alpha, Dropout = 0, TargetModules = LoraSettings.AllLinear };

    // The same draws for any dtype: the base weights, then the adapters, then a non-zero B (so every path of
    // both backward passes carries gradient).
    private static DecoderModel BuildLoraModel(DecoderSpec spec, DType dtype)
    {
        var g = new Generator(1);
        var model = RaceSuite.BuildModel(spec, dtype, Device.Cpu, g);
        model.AddLora(Lora, g);
        foreach (var a in model.Adapters.Values)
        {
            using var b = Tensor.Randn(a.B.Shape, g);
            using var small = b * 0.01;
            a.B.CopyFrom(small);
        }
        return model;
    }

    private static JsonObject Measure(Shape shape, DecoderModel model, Tensor ids, long[] labels, TorchReference torch, int reps)
    {
        var spec = shape.Spec;
        using var adam = new AdamW([new ParameterGroup("lora", model.Adapters.Values.SelectMany(a => new[] { a.A, a.B }).ToList(),
            model.Adapters.Values.SelectMany(a => new[] { a.GradA, a.GradB }).ToList())]);
        var targets = CrossEntropy.ShiftForCausalLm(labels, shape.Batch, shape.Seq);
        double norm = CrossEntropy.CountTargets(targets);
        double[] OurStep(out double loss)
        {
            using var scope = TensorScope.Begin();
            model.ZeroGrad();
            var sw = Stopwatch.StartNew();
            using var pass = model.Forward(ids, training: true);
            double f = sw.Elapsed.TotalSeconds;
            var (l, dHidden) = model.LmHeadLoss(pass.Hidden, targets, norm, backward: true);
            double h = sw.Elapsed.TotalSeconds;
            model.Backward(pass, dHidden!).Dispose();
            double b = sw.Elapsed.TotalSeconds;
            adam.Update(1e-4);
            double o = sw.Elapsed.TotalSeconds;
            loss = l;
            return [f, h - f, b - h, o - b, o];
        }
        double[] TorchStep(out double loss)
        {
            var r = torch.Send(new { cmd = "step" });
            loss = N(r["loss_value"]);
            return [N(r["forward"]), N(r["loss"]), N(r["backward"]), N(r["optimizer"]), N(r["total"])];
        }
        // Step 0 of each side: both sides start from the same weights, so the losses must agree.
        OurStep(out double ourFirst);
        TorchStep(out double torchFirst);
        var ours = new List<double[]>();
        var theirs = new List<double[]>();
        for (int i = 0; i < reps; i++)
        {
            if (i % 2 == 0) { ours.Add(OurStep(out _)); theirs.Add(TorchStep(out _)); }
            else { theirs.Add(TorchStep(out _)); ours.Add(OurStep(out _)); }
        }
        double paired = Median(ours.Zip(theirs, (a, b) => b[4] / a[4]));
        long tokens = (long)shape.Batch * shape.Seq;
        double flops = FlopCount.LoraStepPerToken(spec, shape.Seq, Rank) * tokens;

        // Each side's own matmul speed on the MLP's shape, measured in the same run.
        using var x = Tensor.Randn([tokens, spec.HiddenSize], new Generator(5));
        using var w = Tensor.Randn([spec.IntermediateSize, spec.HiddenSize], new Generator(6));
        double ourMatmul = Median(Enumerable.Range(0, 5).Select(_ => Time(() => { for (int k = 0; k < 10; k++) x.Linear(w).Dispose(); }) / 10));
        double ourGflops = 2.0 * tokens * spec.HiddenSize * spec.IntermediateSize / ourMatmul / 1e9;
        var tm = torch.Send(new { cmd = "matmul", m = tokens, k = spec.HiddenSize, n = spec.IntermediateSize, reps = 50 });
        double torchGflops = N(tm["gflops"]);

        var oursSide = Side(ours, flops, ourGflops, tokens, ourFirst);
        var torchSide = Side(theirs, flops, torchGflops, tokens, torchFirst);
        oursSide["matmul_gflops"] = ourGflops;
        torchSide["matmul_gflops"] = torchGflops;
        foreach (int batch in new[] { 1, 16 })
        {
            oursSide[$"generate_b{batch}"] = OurGreedy(model, ids, batch, prompt: 16, newTokens: 64);
            // The runner's prefill yields the first new token and then takes n single-token steps: n = 63 makes 64, as ours.
            var gen = torch.Send(new { cmd = "generate", batch, prompt = 16, @new = 63 });
            torchSide[$"generate_b{batch}"] = batch * N(gen["new_tokens"]) / N(gen["seconds"]);
        }
        // Batch-1 decoding reads every weight per token: the same model with bfloat16 base weights (adapters stay float32).
        using (var bf16 = BuildLoraModel(spec, DType.BFloat16))
            oursSide["generate_b1_bf16"] = OurGreedy(bf16, ids, 1, prompt: 16, newTokens: 64);
        if (shape.Name == "suite")
        {
            // Classification scoring, as an ML.NET pipeline runs it (tokenize, batch, score head) against PyTorch's forward and head.
            oursSide["mlnet_score_rows_per_s"] = MlNetScoring(spec, model, shape);
            torchSide["score_rows_per_s"] = N(torch.Send(new { cmd = "score", labels = 2, reps = 5 })["rows_per_s"]);
        }
        oursSide["peak_rss_mib"] = PeakRssMiB();
        torchSide["peak_rss_mib"] = N(torch.Send(new { cmd = "rss" })["peak_rss_mib"]);
        torchSide["runtime"] = torch.Ready.DeepClone();
        // libtorch-cpu's own build links MKL (the profile shows mkl_blas_* sgemm); its intra-op pool defaults to the core count.
        oursSide["runtime"] = new JsonObject
        {
            ["libtorch"] = Torch.Info.Version, ["blas"] = "MKL, as linked by libtorch-cpu", ["threads"] = Environment.ProcessorCount,
        };
        return new JsonObject
        {
            ["shape"] = shape.Name, ["batch"] = shape.Batch, ["seq"] = shape.Seq, ["step_gflop"] = flops / 1e9,
            ["paired_ratio"] = paired, ["ours"] = oursSide, ["torch"] = torchSide,
        };
    }

    private sealed class TextRow
    {
        public string Label { get; set; } = "";
        public string Text { get; set; } = "";
    }

    // The suite's base weights as a Hugging Face folder (with the shared BPE tokenizer), one LoRA step with
    // ML.NET's estimator, then Transform over 64 rows that all fill MaxLength = 256 tokens, as PyTorch's batch does.
    private static double MlNetScoring(DecoderSpec spec, DecoderModel model, Shape shape)
    {
        string dir = Path.Combine(Path.GetTempPath(), "mlnetlora-score-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string shared = Path.Combine(RepoRoot(), "..", "shared");
            foreach (string f in new[] { "tokenizer.json", "tokenizer_config.json" })
                File.Copy(Path.Combine(shared, "fixtures", "hf", "tokenizer-bpe", f), Path.Combine(dir, f));
            File.WriteAllText(Path.Combine(dir, "config.json"), new JsonObject
            {
                ["architectures"] = new JsonArray("LlamaForCausalLM"), ["model_type"] = "llama", ["hidden_size"] = spec.HiddenSize,
                ["intermediate_size"] = spec.IntermediateSize, ["num_hidden_layers"] = spec.NumLayers, ["num_attention_heads"] = spec.NumHeads,
                ["num_key_value_heads"] = spec.NumKvHeads, ["head_dim"] = spec.HeadDim, ["vocab_size"] = spec.VocabSize, ["rms_norm_eps"] = spec.RmsNormEps,
                ["rope_theta"] = shape.RopeTheta, ["max_position_embeddings"] = shape.Seq, ["tie_word_embeddings"] = spec.TiedEmbeddings,
                ["torch_dtype"] = "float32", ["bos_token_id"] = 0, ["eos_token_id"] = 1, ["pad_token_id"] = 2,
            }.ToJsonString());
            SafeTensorsWriter.Write(Path.Combine(dir, "model.safetensors"), model.NamedWeights());
            string book = File.ReadAllText(Path.Combine(shared, "data", "moby-dick.txt"));
            var rows = Enumerable.Range(0, 64).Select(i => new TextRow { Label = i % 2 == 0 ? "a" : "b", Text = book.Substring(10_000 + i * 4_000, 4_000) }).ToList();
            var ml = new Microsoft.ML.MLContext(seed: 1);
            var options = new MLNetLora.ML.LoraClassificationOptions
            {
                ModelPath = dir, MaxSteps = 1, BatchSize = shape.Batch, MaxLength = shape.Seq, LoraRank = Rank, LoraAlpha = Alpha, LoraDropout = 0, Seed = 1,
            };
            var data = ml.Data.LoadFromEnumerable(rows);
            var fitted = ml.Transforms.Conversion.MapValueToKey("Label").Append(MLNetLora.ML.MLNetLoraCatalog.LoraTrainer(ml.Transforms, options)).Fit(ml.Data.LoadFromEnumerable(rows.Take(8)));
            try
            {
                _ = fitted.Transform(ml.Data.LoadFromEnumerable(rows.Take(8))).GetColumn<float[]>("Score").ToList();   // warm-up
                double seconds = Time(() => _ = fitted.Transform(data).GetColumn<float[]>("Score").ToList());
                return rows.Count / seconds;
            }
            finally
            {
                fitted.LastTransformer.Dispose();
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static JsonObject Side(List<double[]> steps, double flops, double matmulGflops, long tokens, double firstLoss)
    {
        double M(int i) => Median(steps.Select(s => s[i]));
        double step = M(4);
        return new JsonObject
        {
            ["forward"] = M(0), ["loss"] = M(1), ["backward"] = M(2), ["optimizer"] = M(3), ["step"] = step,
            ["tokens_per_s"] = tokens / step, ["step_gflops"] = flops / step / 1e9, ["matmul_fraction"] = flops / step / 1e9 / matmulGflops,
            ["first_loss"] = firstLoss, ["steps"] = new JsonArray(steps.Select(s => (JsonNode)s[4]).ToArray()),
        };
    }

    // Greedy decoding with the KV cache: prompt tokens from the batch's rows (tiled to the batch), no stop tokens.
    private static double OurGreedy(DecoderModel model, Tensor ids, int batch, int prompt, int newTokens)
    {
        using var scope = TensorScope.Begin();
        var rows = Enumerable.Range(0, batch).Select(i => ids.Narrow(0, i % ids.Size(0), 1).Narrow(1, 0, prompt)).ToArray();
        var promptIds = Tensor.Cat(rows, 0);                                                       // (b, prompt)
        var generator = new TextGenerator(model, stopTokenIds: []);
        generator.Generate(promptIds, null, GenerationOptions.Greedy(4));                          // warm-up
        double seconds = Time(() => generator.Generate(promptIds, null, GenerationOptions.Greedy(newTokens)));
        return batch * newTokens / seconds;
    }

    private static double PeakRssMiB()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        return double.NaN;
    }

    private static double Time(Action a)
    {
        var sw = Stopwatch.StartNew();
        a();
        return sw.Elapsed.TotalSeconds;
    }

    private static double Median(IEnumerable<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MLNetLora.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}
