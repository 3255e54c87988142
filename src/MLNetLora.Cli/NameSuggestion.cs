namespace MLNetLora.Cli;

/// <summary>"Did you mean" hints for mistyped command and option names.</summary>
public static class NameSuggestion
{
    /// <summary>The candidate closest to <paramref name="typed"/>, or null when none is close enough to be a likely typo.</summary>
    public static string? Closest(string typed, IEnumerable<string> candidates)
    {
        ArgumentNullException.ThrowIfNull(typed);
        // A third of the length (at least 2 edits) catches typos without suggesting unrelated names.
        int limit = Math.Max(2, typed.Length / 3);
        return candidates
            .Select(c => (Name: c, Distance: EditDistance(typed, c)))
            .Where(e => e.Distance <= limit)
            .OrderBy(e => e.Distance)
            .ThenBy(e => e.Name, StringComparer.Ordinal)
            .Select(e => e.Name)
            .FirstOrDefault();
    }

    // The names other fine-tuning tools (transformers' TrainingArguments, PEFT, axolotl, TRL) give our
    // options, which are too far from ours in spelling for the edit-distance hint.
    private static readonly Dictionary<string, string> KnownAliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["learning-rate"] = "lr", ["learning_rate"] = "lr", ["lr-rate"] = "lr",
        ["num-train-epochs"] = "epochs", ["num_train_epochs"] = "epochs", ["num-epochs"] = "epochs", ["epoch"] = "epochs",
        ["per-device-train-batch-size"] = "batch-size", ["per_device_train_batch_size"] = "batch-size", ["micro-batch-size"] = "batch-size", ["bs"] = "batch-size",
        ["gradient-accumulation-steps"] = "grad-accum", ["gradient_accumulation_steps"] = "grad-accum", ["accumulation-steps"] = "grad-accum",
        ["lora-rank"] = "lora-r", ["rank"] = "lora-r", ["r"] = "lora-r", ["lora_r"] = "lora-r", ["lora_alpha"] = "lora-alpha", ["alpha"] = "lora-alpha",
        ["lr-scheduler-type"] = "scheduler", ["lr_scheduler_type"] = "scheduler", ["schedule"] = "scheduler",
        ["output-dir"] = "output", ["output_dir"] = "output", ["out"] = "output",
        ["max-seq-length"] = "max-length", ["max_seq_length"] = "max-length", ["sequence-len"] = "max-length", ["seq-len"] = "max-length",
        ["resume-from-checkpoint"] = "resume", ["resume_from_checkpoint"] = "resume",
        ["dataset"] = "data", ["train-file"] = "data", ["train_file"] = "data",
        ["max_grad_norm"] = "max-grad-norm", ["clip"] = "max-grad-norm",
        ["temp"] = "temperature", ["do-sample"] = "sample", ["do_sample"] = "sample",
    };

    /// <summary>Our option for a name another tool uses (<c>learning-rate</c> → <c>lr</c>) when the command has it; else the closest by spelling.</summary>
    public static string? ForOption(string typed, IEnumerable<string> options)
    {
        ArgumentNullException.ThrowIfNull(typed);
        var list = options.ToList();
        if (KnownAliases.TryGetValue(typed, out var ours) && list.Contains(ours)) return ours;
        return Closest(typed, list) ?? Closest(typed.Replace('_', '-'), list);
    }

    /// <summary>Levenshtein distance between two strings (shared with the checkpoint error hints).</summary>
    public static int EditDistance(string a, string b) => MLNetLora.Models.Checkpoints.NameSuggestions.EditDistance(a, b);
}
