using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Lora;
using MLNetLora.Models.Transformer;
using MLNetLora.Training.Optim;

namespace MLNetLora.Training.Engine;

/// <summary>
/// A resumable checkpoint folder: the adapter in PEFT format (for full fine-tuning, the trained weights
/// and a classification head in <c>model.safetensors</c> under their Hugging Face names), the optimizer moments
/// (<c>optimizer.safetensors</c>) and <see cref="TrainerState"/> (<c>trainer_state.json</c>). The
/// folder is written under a temporary name and renamed when complete, so a run killed mid-write
/// leaves the previous checkpoint intact and never a half-written one.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>Trainer state file name.</summary>
    public const string StateFileName = "trainer_state.json";

    /// <summary>Optimizer state file name.</summary>
    public const string OptimizerFileName = "optimizer.safetensors";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        IncludeFields = true,
    };

    /// <summary>Writes a checkpoint to <paramref name="directory"/> atomically (replacing an older one of the same name).</summary>
    public static void Save(string directory, DecoderModel model, LoraSettings lora, AdamW optimizer, TrainerState state, string baseModel)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        string full = Path.GetFullPath(directory);
        string parent = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(parent);
        string tmp = Path.Combine(parent, "." + Path.GetFileName(full) + ".tmp-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(tmp);
            WriteInto(tmp, model, lora, optimizer, state, baseModel);
        }
        catch
        {
            // A failed write (a full disk) must not leave a half checkpoint behind.
            DeleteQuietly(tmp);
            throw;
        }
        if (Directory.Exists(full))
        {
            string old = full + ".old-" + Guid.NewGuid().ToString("N");
            Directory.Move(full, old);
            Directory.Move(tmp, full);
            DeleteQuietly(old);
        }
        else Directory.Move(tmp, full);
    }

    /// <summary>Removes what interrupted checkpoint writes leave in an output folder (<c>.checkpoint-N.tmp-*</c>, <c>checkpoint-N.old-*</c>).</summary>
    /// <param name="outputDirectory">The run's output folder.</param>
    /// <returns>The folders removed.</returns>
    public static IReadOnlyList<string> CleanLeftovers(string outputDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        if (!Directory.Exists(outputDirectory)) return [];
        var leftovers = Directory.GetDirectories(outputDirectory, ".checkpoint-*.tmp-*")
            .Concat(Directory.GetDirectories(outputDirectory, "checkpoint-*.old-*")).ToList();
        foreach (string d in leftovers) DeleteQuietly(d);
        return leftovers;
    }

    /// <summary>Why a checkpoint folder cannot be resumed from (a missing, truncated or unreadable file, named), or null when it is complete.</summary>
    /// <param name="directory">A checkpoint-N folder.</param>
    /// <returns>The problem, or null.</returns>
    public static string? Problem(string directory)
    {
        bool full = IsFullTuning(directory);
        string[] tensorFiles = [OptimizerFileName, full ? ModelCheckpoint.SingleFileName : PeftAdapterIO.WeightsFileName];
        foreach (string file in tensorFiles.Prepend(StateFileName).Concat(full ? [] : [PeftAdapterIO.ConfigFileName]))
            if (!File.Exists(Path.Combine(directory, file))) return $"{file} is missing";
        try
        {
            ReadState(directory);
            foreach (string file in tensorFiles)
                if (TruncatedFile(directory, file) is string truncated) return truncated;
            // An adapter config cut off mid-write does not parse.
            if (!full) JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, PeftAdapterIO.ConfigFileName))).Dispose();
        }
        catch (Exception e) when (e is CheckpointException or JsonException or IOException)
        {
            return e.Message;
        }
        return null;
    }

    // A full fine-tuning checkpoint holds model.safetensors instead of a PEFT adapter.
    private static bool IsFullTuning(string directory) =>
        File.Exists(Path.Combine(directory, ModelCheckpoint.SingleFileName)) && !File.Exists(Path.Combine(directory, PeftAdapterIO.ConfigFileName));

    private static string? TruncatedFile(string directory, string file)
    {
        using var st = SafeTensorsFile.Open(Path.Combine(directory, file));
        long end = st.Tensors.Select(t => t.DataEnd).DefaultIfEmpty(0).Max();
        return st.DataOffset + end > st.FileLength ? $"{file} is truncated ({st.FileLength} bytes, its header needs {st.DataOffset + end})" : null;
    }

    private static void DeleteQuietly(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for CleanLeftovers at the next start.
        }
    }

    private static void WriteInto(string tmp, DecoderModel model, LoraSettings lora, AdamW optimizer, TrainerState state, string baseModel)
    {
        // One file (no shard limit): a checkpoint is read back only by LoadTensors.
        if (model.TrainableWeights.Count > 0) ShardedCheckpointWriter.Write(tmp, FullTuningTensors(model).ToList(), model.ComputeDType, long.MaxValue);
        else PeftAdapterIO.Save(model, lora, tmp, baseModel);
        var tensors = optimizer.StateTensors().SelectMany(t => new[]
        {
            new KeyValuePair<string, Tensor>($"{t.Group}.{t.Index}.exp_avg", t.ExpAvg),
            new KeyValuePair<string, Tensor>($"{t.Group}.{t.Index}.exp_avg_sq", t.ExpAvgSq),
        }).ToList();
        SafeTensorsWriter.Write(Path.Combine(tmp, OptimizerFileName), tensors,
            new Dictionary<string, string> { ["step"] = optimizer.Step.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        File.WriteAllText(Path.Combine(tmp, StateFileName), JsonSerializer.Serialize(state, Json));
    }

    /// <summary>Reads the trainer state of a checkpoint.</summary>
    /// <exception cref="CheckpointException">The folder is not a complete checkpoint.</exception>
    public static TrainerState ReadState(string directory)
    {
        string path = Path.Combine(directory, StateFileName);
        if (!File.Exists(path))
            throw new CheckpointException($"'{directory}' is not a training checkpoint (no {StateFileName}). Pass a checkpoint-N folder or the output folder that holds them.", path);
        JsonNode node;
        try
        {
            node = JsonNode.Parse(File.ReadAllText(path)) ?? throw new CheckpointException($"{path} is empty.", path);
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path} is not valid JSON ({e.Message}); the checkpoint was cut off while it was written. " +
                "Resume from an earlier checkpoint-N folder of the run.", path, e);
        }
        // Checkpoints written before the schedule's rate was named LearningRate call it PeakRate.
        if (node["Schedule"] is JsonObject schedule && schedule["LearningRate"] is null && schedule["PeakRate"] is JsonNode peak)
        {
            schedule.Remove("PeakRate");
            schedule["LearningRate"] = peak.DeepClone();
        }
        return node.Deserialize<TrainerState>(Json) ?? throw new CheckpointException($"{path} is empty.", path);
    }

    /// <summary>Deletes all but the newest <paramref name="keep"/> <c>checkpoint-N</c> folders under <paramref name="directory"/>.</summary>
    /// <returns>The folders deleted.</returns>
    public static IReadOnlyList<string> Prune(string directory, int keep)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keep);
        var old = Checkpoints(directory).Skip(keep).ToList();
        foreach (string d in old) Directory.Delete(d, recursive: true);
        return old;
    }

    // Complete checkpoint-N folders, newest first.
    private static IEnumerable<string> Checkpoints(string directory) =>
        !Directory.Exists(directory) ? [] : Directory.GetDirectories(directory, "checkpoint-*")
            .Select(d => (Dir: d, Ok: long.TryParse(Path.GetFileName(d)["checkpoint-".Length..], out long n), N: n))
            .Where(x => x.Ok && File.Exists(Path.Combine(x.Dir, StateFileName)))
            .OrderByDescending(x => x.N).Select(x => x.Dir);

    /// <summary>Copies the adapter weights (DoRA magnitudes included) and optimizer moments of a checkpoint into a prepared trainer's model and optimizer.</summary>
    /// <exception cref="CheckpointException">A tensor is missing or has another shape, or the checkpoint is DoRA and the run is not (the checkpoint is from another model or LoRA setup).</exception>
    public static void LoadTensors(string directory, DecoderModel model, AdamW optimizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (model.TrainableWeights.Count > 0)
        {
            if (!IsFullTuning(directory))
                throw new CheckpointException($"'{directory}' holds a LoRA adapter, but this run is full fine-tuning; resume with the method the checkpoint was trained with.", directory);
            using var weights = SafeTensorsFile.Open(Path.Combine(directory, ModelCheckpoint.SingleFileName));
            foreach (var (name, t) in FullTuningTensors(model)) Copy(weights, name, t);
        }
        else
        {
            if (IsFullTuning(directory))
                throw new CheckpointException($"'{directory}' is a full fine-tuning checkpoint, but this run trains adapters; resume with Method = Full.", directory);
            using var adapter = SafeTensorsFile.Open(Path.Combine(directory, PeftAdapterIO.WeightsFileName));
            foreach (var (name, a) in model.Adapters)
            {
                Copy(adapter, $"base_model.model.{name}.lora_A.weight", a.A);
                Copy(adapter, $"base_model.model.{name}.lora_B.weight", a.B);
                string magnitude = $"base_model.model.{name}.lora_magnitude_vector";
                if (a.Magnitude is not null) Copy(adapter, magnitude, a.Magnitude);
                else if (adapter.Contains(magnitude))
                    throw new CheckpointException($"{adapter.Path} is a DoRA checkpoint ('{magnitude}') but this run trains plain LoRA; resume with LoraSettings.UseDora = true.", adapter.Path);
            }
            if (model.ScoreHead is not null) Copy(adapter, "base_model.model.score.weight", model.ScoreHead.Weight);
        }
        using var opt = SafeTensorsFile.Open(Path.Combine(directory, OptimizerFileName));
        foreach (var t in optimizer.StateTensors())
        {
            Copy(opt, $"{t.Group}.{t.Index}.exp_avg", t.ExpAvg);
            Copy(opt, $"{t.Group}.{t.Index}.exp_avg_sq", t.ExpAvgSq);
        }
        optimizer.RestoreStep(long.Parse(opt.Metadata["step"], System.Globalization.CultureInfo.InvariantCulture));
    }

    // What a full fine-tuning checkpoint stores: every trained weight and a classification head.
    private static IEnumerable<KeyValuePair<string, Tensor>> FullTuningTensors(DecoderModel model) =>
        model.TrainableWeights.Select(w => new KeyValuePair<string, Tensor>(w.Name, w.Value))
            .Concat(model.ScoreHead is null ? [] : [new KeyValuePair<string, Tensor>("score.weight", model.ScoreHead.Weight)]);

    /// <summary>The newest <c>checkpoint-N</c> folder under <paramref name="directory"/>, or the folder itself when it is a checkpoint.</summary>
    /// <exception cref="CheckpointException">No checkpoint was found.</exception>
    /// <remarks>
    /// A run folder resumes from its newest complete checkpoint: a damaged newer one (a missing or
    /// truncated file) is passed over and <paramref name="log"/> says so. A checkpoint folder given
    /// directly must be complete.
    /// </remarks>
    /// <exception cref="CheckpointException">No complete checkpoint was found; the message names the damaged file.</exception>
    public static string Resolve(string directory, Action<string>? log = null)
    {
        if (File.Exists(Path.Combine(directory, StateFileName)) || File.Exists(Path.Combine(directory, OptimizerFileName)))
        {
            if (Problem(directory) is string p)
                throw new CheckpointException($"Checkpoint '{directory}' cannot be resumed: {p}. Resume from an earlier checkpoint-N folder, or the run folder to take the newest complete one.", directory);
            return directory;
        }
        var candidates = Directory.Exists(directory) ? Directory.GetDirectories(directory, "checkpoint-*")
            .Select(d => (Dir: d, Ok: long.TryParse(Path.GetFileName(d)["checkpoint-".Length..], out long n), N: n))
            .Where(x => x.Ok).OrderByDescending(x => x.N).Select(x => x.Dir).ToList() : [];
        var damaged = new List<string>();
        foreach (string c in candidates)
        {
            if (Problem(c) is string p)
            {
                damaged.Add($"{Path.GetFileName(c)}: {p}");
                continue;
            }
            foreach (string d in damaged) log?.Invoke($"skipping damaged checkpoint {d}");
            if (damaged.Count > 0) log?.Invoke($"resuming from the newest complete checkpoint, {Path.GetFileName(c)}");
            return c;
        }
        if (damaged.Count > 0)
            throw new CheckpointException($"No complete checkpoint in '{directory}': {string.Join("; ", damaged)}.", directory);
        throw new CheckpointException($"No checkpoint found in '{directory}'. Pass the output folder of an earlier run (it holds checkpoint-N folders) or one checkpoint-N folder.", directory);
    }

    private static void Copy(SafeTensorsFile file, string key, Tensor target)
    {
        if (!file.Contains(key))
            throw new CheckpointException($"{file.Path} has no '{key}': the checkpoint was made with another model or LoRA configuration.", file.Path);
        using var t = file.Load(key);
        if (!t.Shape.SequenceEqual(target.Shape))
            throw new CheckpointException($"'{key}' has shape [{string.Join(",", t.Shape)}] but this run expects [{string.Join(",", target.Shape)}].", file.Path);
        target.CopyFrom(t);
    }
}
