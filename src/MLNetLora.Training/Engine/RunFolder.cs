namespace MLNetLora.Training.Engine;

/// <summary>
/// What a run writes into <see cref="TrainerOptions.OutputDirectory"/>, and the rule that a new run
/// never writes over an earlier one: a folder holding a run's files is refused unless the new run
/// resumes from it.
/// </summary>
public static class RunFolder
{
    /// <summary>The final adapter's sub-folder.</summary>
    public const string AdapterFolder = "adapter";

    /// <summary>The best-on-validation adapter's sub-folder.</summary>
    public const string BestAdapterFolder = "best-adapter";

    /// <summary>The fully fine-tuned model's sub-folder (a Hugging Face checkpoint).</summary>
    public const string ModelFolder = "model";

    /// <summary>The best-on-validation fully fine-tuned model's sub-folder.</summary>
    public const string BestModelFolder = "best-model";

    /// <summary>Where a run of <paramref name="method"/> writes its final result: <c>adapter</c>, or <c>model</c> for full fine-tuning.</summary>
    public static string FinalFolder(Defaults.FineTuneMethod method) => method == Defaults.FineTuneMethod.Full ? ModelFolder : AdapterFolder;

    /// <summary>Where a run of <paramref name="method"/> writes its best-on-validation result.</summary>
    public static string BestFolder(Defaults.FineTuneMethod method) => method == Defaults.FineTuneMethod.Full ? BestModelFolder : BestAdapterFolder;

    /// <summary>The metrics file the front ends write into the folder.</summary>
    public const string MetricsFileName = "metrics.jsonl";

    /// <summary>The files and folders of an earlier run in <paramref name="directory"/> (empty when none or when it does not exist).</summary>
    /// <param name="directory">An output folder.</param>
    /// <returns>Their names, sorted.</returns>
    public static IReadOnlyList<string> EarlierRunFiles(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory)) return [];
        var found = new List<string>();
        foreach (string name in new[] { AdapterFolder, BestAdapterFolder, ModelFolder, BestModelFolder })
            if (Directory.Exists(Path.Combine(directory, name))) found.Add(name + "/");
        if (File.Exists(Path.Combine(directory, MetricsFileName))) found.Add(MetricsFileName);
        found.AddRange(Directory.EnumerateDirectories(directory, "checkpoint-*").Select(d => Path.GetFileName(d) + "/"));
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    /// <summary>Refuses an output folder that holds an earlier run, unless <see cref="TrainerOptions.ResumeFrom"/> continues a run.</summary>
    /// <param name="options">The run's options.</param>
    /// <exception cref="TrainerOptionException">The folder holds an earlier run (Property <c>OutputDirectory</c>).</exception>
    public static void CheckNoEarlierRun(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.OutputDirectory is not string dir || options.ResumeFrom is not null) return;
        var files = EarlierRunFiles(dir);
        if (files.Count == 0) return;
        throw new TrainerOptionException(nameof(TrainerOptions.OutputDirectory),
            $"OutputDirectory '{dir}' holds an earlier run ({string.Join(", ", files.Take(5))}{(files.Count > 5 ? ", …" : "")}); " +
            "a new run never writes over it. Choose another folder, delete that one, or set ResumeFrom to continue the run.");
    }
}
