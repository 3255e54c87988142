using System.Globalization;
using System.Security.Cryptography;
using MLNetLora.Training.Data;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Training.Engine;

/// <summary>
/// What defines a run, recorded in every checkpoint so a resume continues the same run: the base
/// model (path and fingerprint), the data (count and a hash of every token), the batch layout, the
/// LoRA shape, the seed and the rate. A resume with anything else would train a different curve
/// while claiming to continue one, so <see cref="Differences"/> lists each mismatch and the trainer refuses.
/// </summary>
/// <param name="BaseModel">Base model path or name.</param>
/// <param name="BaseFingerprint">SHA-256 of the base model's fingerprint JSON, or null when the trainer was given a bare model.</param>
/// <param name="TrainExamples">Training rows (after packing).</param>
/// <param name="DataHash">SHA-256 over every row's ids, prompt length and class.</param>
/// <param name="BatchSize">Rows per micro-batch.</param>
/// <param name="GradientAccumulation">Micro-batches per step.</param>
/// <param name="MaxLength">Longest row.</param>
/// <param name="Seed">Seed of initialisation, order and dropout.</param>
/// <param name="Shuffle">Whether rows are shuffled each epoch.</param>
/// <param name="LoraRank">Adapter rank.</param>
/// <param name="LoraAlpha">Adapter alpha.</param>
/// <param name="TargetModules">Short names of the modules that carry adapters, sorted (what the targets matched, not how they were written).</param>
/// <param name="LearningRate">The rate the options asked for (null = the recommended one).</param>
/// <param name="Scheduler">The schedule kind.</param>
public sealed record RunIdentity(string BaseModel, string? BaseFingerprint, int TrainExamples, string DataHash, int BatchSize,
    int GradientAccumulation, int MaxLength, ulong Seed, bool Shuffle, int LoraRank, double LoraAlpha, IReadOnlyList<string> TargetModules,
    double? LearningRate, ScheduleKind Scheduler)
{
    /// <summary>What is trained (checkpoints written before methods existed read as LoRA).</summary>
    public Defaults.FineTuneMethod Method { get; init; }

    /// <summary>Full fine-tuning's frozen leading layers.</summary>
    public int FreezeLayers { get; init; }

    /// <summary>Whether full fine-tuning keeps the embeddings frozen.</summary>
    public bool FreezeEmbeddings { get; init; }

    /// <summary>Whether the adapters are DoRA.</summary>
    public bool UseDora { get; init; }

    /// <summary>The identity of a run with <paramref name="options"/> over <paramref name="train"/>.</summary>
    /// <param name="options">The run's options.</param>
    /// <param name="train">The training rows.</param>
    /// <param name="baseFingerprint">See <see cref="BaseFingerprint"/>.</param>
    /// <param name="adaptedModules">Full names of the modules with adapters.</param>
    public static RunIdentity Of(TrainerOptions options, IReadOnlyList<TrainingExample> train, string? baseFingerprint, IEnumerable<string> adaptedModules)
    {
        ArgumentNullException.ThrowIfNull(adaptedModules);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(train);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> four = stackalloc byte[4];
        foreach (var e in train)
        {
            foreach (int id in e.InputIds)
            {
                BitConverter.TryWriteBytes(four, id);
                sha.AppendData(four);
            }
            BitConverter.TryWriteBytes(four, -1 - e.PromptLength);
            sha.AppendData(four);
            if (e.LossMask is { } mask)
                foreach (bool learned in mask) sha.AppendData(learned ? [1] : [0]);
            BitConverter.TryWriteBytes(four, e.ClassLabel ?? int.MinValue);
            sha.AppendData(four);
        }
        return new RunIdentity(options.BaseModelNameOrPath, baseFingerprint, train.Count, Convert.ToHexStringLower(sha.GetHashAndReset()),
            options.BatchSize, options.GradientAccumulation, options.MaxLength, options.Seed, options.Shuffle, options.Lora.Rank, options.Lora.Alpha,
            adaptedModules.Select(Models.Lora.ModuleNames.Leaf).Distinct().Order(StringComparer.Ordinal).ToArray(), options.LearningRate, options.Scheduler)
        {
            Method = options.Method,
            FreezeLayers = options.FreezeLayers,
            FreezeEmbeddings = options.FreezeEmbeddings,
            UseDora = options.Lora.UseDora,
        };
    }

    /// <summary>How the run about to start differs from the checkpoint's (this), one phrase per property; empty when it continues the same run.</summary>
    /// <param name="now">The identity of the run about to start.</param>
    /// <param name="overrideRate">Whether the rate and schedule may change deliberately (<see cref="TrainerOptions.OverrideRateOnResume"/>).</param>
    public IReadOnlyList<string> Differences(RunIdentity now, bool overrideRate)
    {
        ArgumentNullException.ThrowIfNull(now);
        var d = new List<string>();
        void Check<T>(string property, T saved, T current)
        {
            if (!EqualityComparer<T>.Default.Equals(saved, current)) d.Add($"{property} {Text(saved)} in the checkpoint, {Text(current)} now");
        }
        if (BaseFingerprint is not null && now.BaseFingerprint is not null && BaseFingerprint != now.BaseFingerprint)
            d.Add($"the base model differs ({BaseModel} in the checkpoint, {now.BaseModel} now: other files)");
        if (TrainExamples != now.TrainExamples) d.Add($"the data has {now.TrainExamples} examples, the checkpoint's had {TrainExamples}");
        else if (DataHash != now.DataHash) d.Add("the data differs (same number of examples, other tokens)");
        Check("BatchSize", BatchSize, now.BatchSize);
        Check("GradientAccumulation", GradientAccumulation, now.GradientAccumulation);
        Check("MaxLength", MaxLength, now.MaxLength);
        Check("Seed", Seed, now.Seed);
        Check("Shuffle", Shuffle, now.Shuffle);
        Check("Method", Method, now.Method);
        if (Method == now.Method && Method == Defaults.FineTuneMethod.Full)
        {
            Check("FreezeLayers", FreezeLayers, now.FreezeLayers);
            Check("FreezeEmbeddings", FreezeEmbeddings, now.FreezeEmbeddings);
        }
        else if (Method == now.Method)
        {
            Check("Lora.Rank", LoraRank, now.LoraRank);
            Check("Lora.Alpha", LoraAlpha, now.LoraAlpha);
            Check("Lora.UseDora", UseDora, now.UseDora);
            if (!TargetModules.SequenceEqual(now.TargetModules)) d.Add($"Lora.TargetModules {string.Join(",", TargetModules)} in the checkpoint, {string.Join(",", now.TargetModules)} now");
        }
        if (!overrideRate)
        {
            if (now.LearningRate is double rate && rate != LearningRate)
                d.Add($"LearningRate {Text(LearningRate)} in the checkpoint, {Text(rate)} now (set OverrideRateOnResume to change the rate of a resumed run)");
            Check("Scheduler", Scheduler, now.Scheduler);
        }
        return d;
    }

    private static string Text<T>(T value) => value switch
    {
        null => "default",
        double r => RateText.Format(r),
        ScheduleKind k => ScheduleKindNames.ToName(k),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
