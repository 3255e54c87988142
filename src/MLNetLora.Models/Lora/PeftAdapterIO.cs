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
/// DoRA's magnitude as <c>....q_proj.lora_magnitude_vector</c> (out) (PEFT drops the <c>.weight</c> of its
/// <c>DoraLinearLayer</c> parameter when saving), plus <c>base_model.model.score.weight</c> for a sequence-classification head saved as a
/// <c>modules_to_save</c> module.
/// </summary>
public static class PeftAdapterIO
{
    /// <summary>Config file name.</summary>
    public const string ConfigFileName = "adapter_config.json";

    /// <summary>Weights file name.</summary>
    public const string WeightsFileName = "adapter_model.safetensors";

    private const string Prefix = "base_model.model.";

    // PEFT's saved name of DoRA's magnitude; PEFT's loader also accepts it with the parameter's ".weight".
    private const string MagnitudeSuffix = ".lora_magnitude_vector";

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
                if (a.Magnitude is not null) tensors.Add(new(Prefix + name + MagnitudeSuffix, a.Magnitude.To(Device.Cpu)));
            }
            if (model.ScoreHead is not null) tensors.Add(new(Prefix + "score.weight", model.ScoreHead.Weight.To(Device.Cpu)));
            SafeTensorsWriter.Write(Path.Combine(directory, WeightsFileName), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        }
        finally
        {
            foreach (var kv in tensors) kv.Value.Dispose();
        }
        var targets = model.Adapters.Keys.Select(ModuleNames.Leaf).Distinct().ToArray();
        // The patterns are written as the adapters have them: per-module ranks and alphas that differ from r and lora_alpha.
        var rankPattern = new JsonObject();
        var alphaPattern = new JsonObject();
        foreach (var (name, a) in model.Adapters)
        {
            int r = settings.RankFor(name);
            double alpha = settings.AlphaFor(name);
            if (r != settings.Rank) rankPattern[name] = r;
            if (alpha != settings.Alpha) alphaPattern[name] = alpha;
        }
        var config = new JsonObject
        {
            ["alpha_pattern"] = alphaPattern,
            ["base_model_name_or_path"] = PortableName(baseModelNameOrPath),
            ["exclude_modules"] = null,
            ["layers_pattern"] = null,
            ["layers_to_transform"] = null,
            ["lora_bias"] = false,
            ["peft_version"] = "0.17.0",
            ["rank_pattern"] = rankPattern,
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
            ["use_dora"] = model.Adapters.Values.Any(a => a.IsDora),
            ["use_rslora"] = settings.UseRsLora,
        };
        AtomicWriteText(Path.Combine(directory, ConfigFileName), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>
    /// Reads <c>adapter_config.json</c> into <see cref="LoraSettings"/>. Every field of PEFT's
    /// <c>LoraConfig</c> that changes what a saved adapter computes is either read (<c>r</c>,
    /// <c>lora_alpha</c>, <c>use_rslora</c>, <c>target_modules</c> as a list or a regex,
    /// <c>exclude_modules</c>, <c>layers_to_transform</c>/<c>layers_pattern</c>, <c>rank_pattern</c>,
    /// <c>alpha_pattern</c>, <c>use_dora</c>, <c>bias</c> and <c>modules_to_save</c>, whose tensors <see cref="Load"/>
    /// applies) or refused by name (<c>lora_bias</c>, <c>fan_in_fan_out</c>, weight-modifying
    /// initialisations, <c>layer_replication</c>, <c>target_parameters</c>, <c>trainable_token_indices</c>,
    /// other <c>peft_type</c>s).
    /// </summary>
    /// <exception cref="CheckpointException">The file is missing or invalid, or sets a field MLNetLora does not implement (the message names it).</exception>
    public static LoraSettings ReadSettings(string directory) => ReadConfig(directory).Settings;

    /// <summary>What an adapter config asks for beyond the adapters themselves.</summary>
    /// <param name="Settings">Rank, alpha, targets and patterns.</param>
    /// <param name="Bias">PEFT's <c>bias</c>: "none", "all" or "lora_only" (the last two ship trained base biases).</param>
    /// <param name="ModulesToSave">Whole modules stored in the adapter (e.g. <c>score</c>, <c>lm_head</c>).</param>
    public sealed record AdapterConfig(LoraSettings Settings, string Bias, IReadOnlyList<string> ModulesToSave);

    /// <summary>Reads and checks <c>adapter_config.json</c> (see <see cref="ReadSettings"/>).</summary>
    /// <exception cref="CheckpointException">The file is missing or invalid, or sets a field MLNetLora does not implement.</exception>
    public static AdapterConfig ReadConfig(string directory)
    {
        string path = Path.Combine(directory, ConfigFileName);
        if (!File.Exists(path))
            throw new CheckpointException($"No {ConfigFileName} in '{directory}'. Point the adapter path at a folder saved by PEFT's save_pretrained or by MLNetLora.", path);
        JsonNode root;
        try { root = JsonNode.Parse(File.ReadAllText(path)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new CheckpointException($"{path} is not valid JSON: {e.Message}", path, e); }
        CheckpointException Refuse(string field, string why) =>
            new($"{path}: {field} {why}; MLNetLora does not implement it, and loading the adapter without it would compute something else.", path);
        try
        {
            if (root["peft_type"]?.GetValue<string>() is string pt && pt != "LORA")
                throw new CheckpointException($"{path} describes a {pt} adapter (peft_type); only LORA adapters are supported.", path);
            if (root["lora_bias"]?.GetValue<bool>() == true) throw Refuse("lora_bias=true", "adds a trained bias to lora_B");
            if (root["fan_in_fan_out"]?.GetValue<bool>() == true) throw Refuse("fan_in_fan_out=true", "transposes the base weights (GPT-2 Conv1D layers)");
            if (root["init_lora_weights"] is JsonValue init && init.TryGetValue<string>(out var how) && how is not ("gaussian" or "true" or "false"))
                throw Refuse($"init_lora_weights=\"{how}\"", "rewrites the base weights at initialisation (PiSSA, OLoRA, LoftQ, CorDA, EVA)");
            if (NonEmpty(root["layer_replication"])) throw Refuse("layer_replication", "duplicates base layers");
            if (NonEmpty(root["target_parameters"])) throw Refuse("target_parameters", "adapts raw parameters instead of modules");
            if (NonEmpty(root["trainable_token_indices"])) throw Refuse("trainable_token_indices", "trains selected embedding rows");
            foreach (var (field, why) in new[]
            {
                ("alora_invocation_tokens", "activates the adapter only after given tokens (aLoRA)"),
                ("arrow_config", "routes between several adapters (Arrow)"),
                ("use_qalora", "pools the input per group (QA-LoRA)"),
                ("use_bdlora", "uses block-diagonal factors"),
                ("monteclora_config", "samples the factors (MonteCLoRA)"),
                ("megatron_config", "splits layers for Megatron tensor parallelism"),
            })
                if (NonEmpty(root[field])) throw Refuse(field, why);
            string bias = root["bias"]?.GetValue<string>() ?? "none";
            if (bias is not ("none" or "all" or "lora_only")) throw Refuse($"bias=\"{bias}\"", "is not a PEFT bias mode");
            var modules = root["modules_to_save"] is JsonArray mts ? mts.Select(n => n!.GetValue<string>()).ToArray() : [];
            foreach (string m in modules)
                if (m is not ("score" or "classifier" or "lm_head" or "embed_tokens"))
                    throw Refuse($"modules_to_save \"{m}\"", "stores a module MLNetLora cannot place (supported: score, lm_head, embed_tokens)");
            // PEFT writes these as a list, or as one string (a regex for the module fields, one layer index for layers_to_transform).
            var (targets, targetRegex) = root["target_modules"] switch
            {
                JsonValue v when v.GetValue<string>() == "all-linear" => (["all-linear"], null),
                null => (LoraSettings.AllLinear.ToArray(), null),
                var node => ListOrRegex(node),
            };
            var (exclude, excludeRegex) = root["exclude_modules"] is { } ex ? ListOrRegex(ex) : ([], null);
            int[]? layers = root["layers_to_transform"] is { } lt ? ListOf(lt, n => n.GetValue<int>()) : null;
            string[]? layersPattern = root["layers_pattern"] is { } lp ? ListOf(lp, n => n.GetValue<string>()) : null;
            var settings = new LoraSettings
            {
                Rank = root["r"]?.GetValue<int>() ?? 8,
                Alpha = root["lora_alpha"]?.GetValue<double>() ?? 8,
                Dropout = root["lora_dropout"]?.GetValue<double>() ?? 0,
                TargetModules = targets,
                TargetRegex = targetRegex,
                ExcludeModules = exclude,
                ExcludeRegex = excludeRegex,
                LayersToTransform = layers,
                LayersPattern = layersPattern,
                RankPattern = (root["rank_pattern"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<int>()) ?? [],
                AlphaPattern = (root["alpha_pattern"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<double>()) ?? [],
                UseRsLora = root["use_rslora"]?.GetValue<bool>() ?? false,
                UseDora = root["use_dora"]?.GetValue<bool>() ?? false,
            };
            settings.Validate();
            return new AdapterConfig(settings, bias, modules);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
        {
            throw new CheckpointException($"{path} has a field of the wrong type or value ({e.Message}).", path, e);
        }
    }

    private static T[] ListOf<T>(JsonNode node, Func<JsonNode, T> read) =>
        node is JsonArray arr ? arr.Select(n => read(n!)).ToArray() : [read(node)];

    private static (string[] Names, string? Regex) ListOrRegex(JsonNode node) =>
        node is JsonArray arr ? (arr.Select(n => n!.GetValue<string>()).ToArray(), null) : ([], node.GetValue<string>());

    private static bool NonEmpty(JsonNode? node) => node switch
    {
        null => false,
        JsonArray a => a.Count > 0,
        JsonObject o => o.Count > 0,
        JsonValue v => !(v.TryGetValue<bool>(out bool b) && !b),
        _ => true,
    };

    /// <summary>
    /// Adds adapters to <paramref name="model"/> from a PEFT folder (replacing any it has) and loads
    /// their weights; a saved classification head is loaded too.
    /// </summary>
    /// <returns>The adapter's settings.</returns>
    /// <exception cref="CheckpointException">Files are missing, or a tensor is missing (a <c>use_dora</c> adapter's <c>lora_magnitude_vector</c> among them) or has the wrong shape.</exception>
    public static LoraSettings Load(DecoderModel model, string directory)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = ReadConfig(directory);
        var settings = config.Settings;
        string weights = Path.Combine(directory, WeightsFileName);
        using var file = SafeTensorsFile.Open(weights);
        model.RemoveLora();
        model.AddLora(settings, new Generator(0));
        foreach (var (name, a) in model.Adapters)
        {
            CopyInto(file, Prefix + name + ".lora_A.weight", a.A);
            CopyInto(file, Prefix + name + ".lora_B.weight", a.B);
            if (a.Magnitude is not null) CopyMagnitude(file, Prefix + name + MagnitudeSuffix, a.Magnitude);
        }
        if (file.Contains(Prefix + "score.weight"))
        {
            using var w = file.Load(Prefix + "score.weight");
            model.AddClassificationHead((int)w.Size(0), new Generator(0), w);
        }
        // bias "all"/"lora_only" ships trained base biases; modules_to_save ships whole modules. Both replace base weights.
        if (config.Bias != "none")
            foreach (var lin in model.Linears)
                if (file.Contains(Prefix + lin.Name + ".bias"))
                {
                    if (lin.Bias is null)
                        throw new CheckpointException($"{file.Path} has a trained bias for {lin.Name} (bias=\"{config.Bias}\"), but that layer of the base model has none. Was it saved for another base model?", file.Path);
                    CopyInto(file, Prefix + lin.Name + ".bias", lin.Bias);
                }
        foreach (string m in config.ModulesToSave.Where(m => m is "lm_head" or "embed_tokens"))
        {
            var (key, target) = m == "lm_head" ? (Prefix + "lm_head.weight", model.LmHead.Weight) : (Prefix + "model.embed_tokens.weight", model.Embedding);
            if (!file.Contains(key)) continue;
            if (ReferenceEquals(model.LmHead.Weight, model.Embedding))
                throw new CheckpointException($"{file.Path} stores a trained {m} (modules_to_save), but the base model ties lm_head to embed_tokens; " +
                    "PEFT unties them for this, which MLNetLora does not do.", file.Path);
            CopyInto(file, key, target);
        }
        return settings;
    }

    // A local folder is recorded by the model's hub id from its config.json (_name_or_path) when it has
    // one, else by the folder's name, so the adapter does not carry this machine's path.
    private static string PortableName(string nameOrPath)
    {
        if (string.IsNullOrEmpty(nameOrPath) || !Directory.Exists(nameOrPath)) return nameOrPath;
        string config = Path.Combine(nameOrPath, "config.json");
        try
        {
            if (File.Exists(config) && JsonNode.Parse(File.ReadAllText(config))?["_name_or_path"]?.GetValue<string>() is string id
                && id.Count(c => c == '/') == 1 && !Path.IsPathRooted(id) && !id.StartsWith('.'))
                return id;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // An unreadable config leaves the folder name.
        }
        return Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(nameOrPath)));
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

    // A use_dora adapter without its magnitude would silently run with m = ‖W‖ (the init), i.e. not the trained adapter.
    private static void CopyMagnitude(SafeTensorsFile file, string key, Tensor target)
    {
        if (file.Contains(key)) CopyInto(file, key, target);
        else if (file.Contains(key + ".weight")) CopyInto(file, key + ".weight", target);
        else
            throw new CheckpointException($"{file.Path} has no DoRA magnitude '{key}', which use_dora=true in its {ConfigFileName} requires. " +
                "Was the adapter saved by a PEFT version without DoRA, or edited by hand?", file.Path);
    }

    private static void AtomicWriteText(string path, string text)
    {
        string tmp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }
}
