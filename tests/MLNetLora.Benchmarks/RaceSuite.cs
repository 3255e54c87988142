using System.Diagnostics;
using System.Text.Json;
using MLNetLora.LibTorch;
using MLNetLora.Models.Lora;
using MLNetLora.Models.Transformer;
using MLNetLora.Training.Optim;

namespace MLNetLora.Benchmarks;

/// <summary>
/// Our side of the race against <c>peft_reference.py</c>, set up as it is: a random-init Llama shape, base weights in
/// bfloat16 on CUDA (float32 on a CPU dry run), LoRA r=16 alpha=32 dropout 0 on all seven projections in float32,
/// AdamW at 2e-4 over the factors, one batch of random tokens as inputs and labels, <c>--steps</c> steps of which the
/// first <c>--warm</c> are not timed. Prints one JSON line per shape with the Python side's field names, plus the FLOP
/// count per token and the achieved TFLOP/s, and writes race[-tag].json.
/// </summary>
internal static class RaceSuite
{
    private const int Rank = 16;

    public static void Run(BenchOptions options)
    {
        var device = Device.Parse(options.Device);
        var rows = new List<Dictionary<string, object?>>();
        foreach (string shape in options.Shapes)
            rows.Add(RunShape(shape, device, options));
        ResultFile.Write(options.OutputDirectory, options.ResultName("race"), new { suite = "race", machine = MachineInfo.Collect(), gpu = GpuMemory.DeviceName(), results = rows });
    }

    private static Dictionary<string, object?> RunShape(string shape, Device device, BenchOptions o)
    {
        var spec = RaceShapes.Spec(shape, Math.Max(4096, o.Seq));
        var dtype = device.IsCuda ? DType.BFloat16 : DType.Float32;
        var g = new Generator(0);
        using var model = BuildModel(spec, dtype, device, g);
        model.AddLora(new LoraSettings { Rank = Rank, Alpha = 2 * Rank, Dropout = 0, TargetModules = LoraSettings.AllLinear }, g);
        var adapters = model.Adapters.Values.ToList();
        using var adam = new AdamW(
        [
            new ParameterGroup("lora_A", adapters.Select(a => a.A).ToList(), adapters.Select(a => a.GradA).ToList()),
            new ParameterGroup("lora_B", adapters.Select(a => a.B).ToList(), adapters.Select(a => a.GradB).ToList()),
        ]);
        using var cpuIds = Tensor.Rand([o.Batch, o.Seq], g, 0, spec.VocabSize - 1).To(DType.Int64);
        long[] labels = cpuIds.ToArray<long>();
        using var ids = cpuIds.To(device);

        using var memory = new GpuMemory(device.IsCuda);
        double loss = double.NaN;
        var clock = new Stopwatch();
        for (int i = 0; i < o.Steps; i++)
        {
            if (i == o.Warm) clock.Start();
            model.ZeroGrad();
            var r = model.CausalLmStep(ids, labels);   // the loss comes back as a number: the step has finished on the device
            r.DEmbeddings?.Dispose();
            adam.Update(2e-4);
            loss = r.Loss;
        }
        clock.Stop();
        int timed = o.Steps - o.Warm;
        double tokensPerSecond = (double)o.Batch * o.Seq * timed / clock.Elapsed.TotalSeconds;
        double flops = FlopCount.LoraStepPerToken(spec, o.Seq, Rank);
        var row = new Dictionary<string, object?>
        {
            ["framework"] = "mlnetlora", ["shape"] = shape, ["batch"] = o.Batch, ["seq"] = o.Seq, ["rank"] = Rank,
            ["device"] = device.ToString(), ["dtype"] = dtype.ToString(),
            ["tokens_per_s"] = Math.Round(tokensPerSecond), ["step_ms"] = Math.Round(1000 * clock.Elapsed.TotalSeconds / timed, 1),
            ["peak_mem_gib"] = memory.PeakGiB(), ["peak_mem_source"] = memory.Source,
            ["loss"] = Math.Round(loss, 4), ["flops_per_token"] = flops, ["tflops"] = Math.Round(flops * tokensPerSecond / 1e12, 2),
            ["mfu"] = o.PeakTflops is double peak ? Math.Round(flops * tokensPerSecond / 1e12 / peak, 3) : null,
            ["libtorch"] = Torch.Info.Version,
        };
        Console.WriteLine(JsonSerializer.Serialize(row));
        return row;
    }

    // Random weights (std 0.02, norms at 1), made on the CPU in float32 and converted once to the device and dtype.
    internal static DecoderModel BuildModel(DecoderSpec spec, DType dtype, Device device, Generator g)
    {
        var w = new Dictionary<string, Tensor>();
        void Rand(string name, params long[] shape)
        {
            using var r = Tensor.Randn(shape, g);
            w[name] = (r * 0.02).DetachFromScopes();
        }
        int d = spec.HiddenSize, q = spec.NumHeads * spec.HeadDim, kv = spec.NumKvHeads * spec.HeadDim, i = spec.IntermediateSize;
        Rand("model.embed_tokens.weight", spec.VocabSize, d);
        for (int l = 0; l < spec.NumLayers; l++)
        {
            string pre = $"model.layers.{l}.";
            w[pre + "input_layernorm.weight"] = Tensor.Ones([d]);
            w[pre + "post_attention_layernorm.weight"] = Tensor.Ones([d]);
            Rand(pre + "self_attn.q_proj.weight", q, d);
            Rand(pre + "self_attn.k_proj.weight", kv, d);
            Rand(pre + "self_attn.v_proj.weight", kv, d);
            Rand(pre + "self_attn.o_proj.weight", d, q);
            Rand(pre + "mlp.gate_proj.weight", i, d);
            Rand(pre + "mlp.up_proj.weight", i, d);
            Rand(pre + "mlp.down_proj.weight", d, i);
        }
        w["model.norm.weight"] = Tensor.Ones([d]);
        if (!spec.TiedEmbeddings) Rand("lm_head.weight", spec.VocabSize, d);
        try
        {
            return DecoderModel.Create(spec, new DictionaryWeightSource(w), dtype, device);
        }
        finally
        {
            foreach (var t in w.Values) t.Dispose();
        }
    }
}
