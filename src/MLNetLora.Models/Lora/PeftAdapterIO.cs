using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Transformer;

namespace MLNetLora.Models.Lora;

/// <summary>
/// Reads and writes LoRA adapters in Hugging Face PEFT's format: <c>adapter_config.json</c> and
/// <c>adapter_model.safetensors</c> with keys such as
/// <c>base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight</c> (A is (r, in), B is (out, r)),
/// plus <c>base_model.model.score.weight</c> for a sequence-classification head saved as a
/// <c>modules_to_save</c> module.
/// </summary>
public static class PeftAdapterIO
{
    /// <summary>Config file name.</summary>
    public const string ConfigFileName = "adapter_config.json";

    /// <summary>Weights file name.</summary>
    public const string WeightsFileName = "adapter_model.safetensors";

    private const string Prefix = "base_model.model.";

    /// <summary>Writes the model's adapters (and classification head) so that <c>PeftModel.from_pretrained</c> loads them.</summary>
    /// <param name="model">A model with adapters.</param>
    /// <param name="settings">The LoRA settings the adapters were made with.</param>
    /// <param name="directory">Output folder (created if needed).</param>
    /// <param name="baseModelNameOrPath">Recorded as <c>base_model_name_or_path</c>.</param>
    /// <exception cref="InvalidOperationException">The model has no adapters.</exception>
    public static void Save(DecoderModel model, LoraSettings settings, string directory, string baseModelNameOrPath)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        if (model.Adapters.Count == 0) throw new InvalidOperationException("The model has no LoRA adapters to save; call AddLora or load an adapter first.");
        Directory.CreateDirectory(directory);
        var tensors = new List<KeyValuePair<string, Tensor>>();
        try
        {
            foreach (var (name, a) in model.Adapters)
            {
                // Stored in the adapter's own dtype (float32, or float64 in gradient-check models) so a resumed run continues bit for bit.
                tensors.Add(new(Prefix + name + ".lora_A.weight", a.A.To(Device.Cpu)));
                tensors.Add(new(Prefix + name + ".lora_B.weight", a.B.To(Device.Cpu)));
            }
            if (model.ScoreHead is not null) tensors.Add(new(Prefix + "score.weight", model.ScoreHead.Weight.To(Device.Cpu)));
            SafeTensorsWriter.Write(Path.Combine(directory, WeightsFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        }
        finally
        {
            foreach (var kv in tensors) kv.Value.Dispose();
        }
        var targets = model.Adapters.Keys.Select(ModuleNames.Leaf).Distinct().ToArray();
        var config = new JsonObject
        {
            ["base_model_name_or_path"] = baseModelNameOrPath,
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["lora_alpha"] = settings.Alpha,
            ["lora_dropout"] = settings.Dropout,
            ["modules_to_save"] = model.ScoreHead is null ? null : new JsonArray("score"),
            ["peft_type"] = "LORA",
            ["r"] = settings.Rank,
            ["target_modules"] = new JsonArray(targets.Select(t => (JsonNode)t).ToArray()),
            ["task_type"] = model.ScoreHead is null ? "CAUSAL_LM" : "SEQ_CLS",
            ["use_dora"] = false,
            ["use_rslora"] = settings.UseRsLora,
        };
        AtomicWriteText(Path.Combine(directory, ConfigFileName), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Reads <c>adapter_config.json</c> into <see cref="LoraSettings"/>.</summary>
    /// <exception cref="CheckpointException">The file is missing or describes something other than plain LoRA.</exception>
    public static LoraSettings ReadSettings(string directory)
    {
        string path = Path.Combine(directory, ConfigFileName);
        if (!File.Exists(path))
            throw new CheckpointException($"No {ConfigFileName} in '{directory}'. Point the adapter path at a folder saved by PEFT's save_pretrained or by MLNetLora.", path);
        JsonNode root;
        try { root = JsonNode.Parse(File.ReadAllText(path)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new CheckpointException($"{path} is not valid JSON: {e.Message}", path, e); }
        if (root["peft_type"]?.GetValue<string>() is string pt && pt != "LORA")
            throw new CheckpointException($"{path} describes a {pt} adapter; only LORA adapters are supported.", path);
        if (root["use_dora"]?.GetValue<bool>() == true)
            throw new CheckpointException($"{path} is a DoRA adapter (use_dora=true), which MLNetLora does not implement.", path);
        var targets = root["target_modules"] switch
        {
            JsonArray arr => arr.Select(n => n!.GetValue<string>()).ToArray(),
            JsonValue v => [v.GetValue<string>()],
            _ => LoraSettings.AllLinear.ToArray(),
        };
        return new LoraSettings
        {
            Rank = root["r"]?.GetValue<int>() ?? 8,
            Alpha = root["lora_alpha"]?.GetValue<double>() ?? 8,
            Dropout = root["lora_dropout"]?.GetValue<double>() ?? 0,
            TargetModules = targets,
            UseRsLora = root["use_rslora"]?.GetValue<bool>() ?? false,
        };
    }

    /// <summary>
    /// Adds adapters to <paramref name="model"/> from a PEFT folder (replacing any it has) and loads
    /// their weights; a saved classification head is loaded too.
    /// </summary>
    /// <returns>The adapter's settings.</returns>
    /// <exception cref="CheckpointException">Files are missing, or a tensor is missing or has the wrong shape.</exception>
    public static LoraSettings Load(DecoderModel model, string directory)
    {
        ArgumentNullException.ThrowIfNull(model);
        var settings = ReadSettings(directory);
        string weights = Path.Combine(directory, WeightsFileName);
        using var file = SafeTensorsFile.Open(weights);
        model.RemoveLora();
        model.AddLora(settings, new Generator(0));
        foreach (var (name, a) in model.Adapters)
        {
            CopyInto(file, Prefix + name + ".lora_A.weight", a.A);
            CopyInto(file, Prefix + name + ".lora_B.weight", a.B);
        }
        if (file.Contains(Prefix + "score.weight"))
        {
            using var w = file.Load(Prefix + "score.weight");
            model.AddClassificationHead((int)w.Size(0), new Generator(0), w);
        }
        return settings;
    }

    private static void CopyInto(SafeTensorsFile file, string key, Tensor target)
    {
        if (!file.Contains(key))
            throw new CheckpointException($"{file.Path} has no tensor '{key}', which its adapter_config.json implies. Was it saved for another base model?", file.Path);
        using var t = file.Load(key);
        if (!t.Shape.SequenceEqual(target.Shape))
            throw new CheckpointException($"Tensor '{key}' has shape [{string.Join(",", t.Shape)}] but the model expects [{string.Join(",", target.Shape)}].", file.Path);
        target.CopyFrom(t);
    }

    private static void AtomicWriteText(string path, string text)
    {
        string tmp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }
}
