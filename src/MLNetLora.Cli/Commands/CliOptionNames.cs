using System.Text.RegularExpressions;
using MLNetLora.Training.Engine;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// The one table from <see cref="TrainerOptions"/> property names to the flags that set them. The
/// training layer's errors name properties (<c>LearningRate must be above 0</c>); the CLI shows them
/// with its flags (<c>--lr must be above 0</c>) and exits as for any usage error.
/// </summary>
public static partial class CliOptionNames
{
    /// <summary>Property path → flag.</summary>
    public static IReadOnlyDictionary<string, string> Flags { get; } = new Dictionary<string, string>
    {
        [nameof(TrainerOptions.Task)] = "--task",
        [nameof(TrainerOptions.Method)] = "--method",
        [nameof(TrainerOptions.FreezeLayers)] = "--freeze-layers",
        [nameof(TrainerOptions.FreezeEmbeddings)] = "--freeze-embeddings",
        [nameof(TrainerOptions.DoubleQuantization)] = "--no-double-quant",
        [nameof(TrainerOptions.LearningRate)] = "--lr",
        [nameof(TrainerOptions.Scheduler)] = "--scheduler",
        [nameof(TrainerOptions.WarmupSteps)] = "--warmup-steps",
        [nameof(TrainerOptions.WarmupRatio)] = "--warmup-ratio",
        [nameof(TrainerOptions.ScheduleParameters)] = "--num-cycles/--min-lr-ratio/--decay-steps",
        ["ScheduleParameters.NumCycles"] = "--num-cycles",
        ["ScheduleParameters.MinRateRatio"] = "--min-lr-ratio",
        ["ScheduleParameters.DecaySteps"] = "--decay-steps",
        [nameof(TrainerOptions.Epochs)] = "--epochs",
        [nameof(TrainerOptions.MaxSteps)] = "--max-steps",
        [nameof(TrainerOptions.BatchSize)] = "--batch-size",
        [nameof(TrainerOptions.GradientAccumulation)] = "--grad-accum",
        [nameof(TrainerOptions.MaxGradNorm)] = "--max-grad-norm",
        [nameof(TrainerOptions.WeightDecay)] = "--weight-decay",
        [nameof(TrainerOptions.LoraPlusRatio)] = "--lora-plus-ratio",
        ["Lora.Rank"] = "--lora-r",
        ["Lora.Alpha"] = "--lora-alpha",
        ["Lora.Dropout"] = "--lora-dropout",
        ["Lora.TargetModules"] = "--target-modules",
        ["Lora.UseDora"] = "--dora",
        ["TargetModules"] = "--target-modules",
        ["TextFields"] = "--text-fields",
        ["LabelField"] = "--label-field",
        ["ChatTemplate"] = "--chat-template",
        ["UseChatTemplate"] = "--use-chat-template",
        [nameof(TrainerOptions.Device)] = "--device",
        [nameof(TrainerOptions.Precision)] = "--precision",
        [nameof(TrainerOptions.Seed)] = "--seed",
        [nameof(TrainerOptions.MaxLength)] = "--max-length",
        [nameof(TrainerOptions.Packing)] = "--packing",
        [nameof(TrainerOptions.GradientCheckpointing)] = "--gradient-checkpointing",
        [nameof(TrainerOptions.EvalEvery)] = "--eval-every",
        [nameof(TrainerOptions.EvalSplit)] = "--eval-split",
        [nameof(TrainerOptions.EarlyStoppingPatience)] = "--early-stopping",
        [nameof(TrainerOptions.CheckpointEvery)] = "--checkpoint-every",
        [nameof(TrainerOptions.KeepCheckpoints)] = "--keep-checkpoints",
        [nameof(TrainerOptions.OutputDirectory)] = "--output",
        [nameof(TrainerOptions.MetricsFile)] = "--metrics",
        [nameof(TrainerOptions.Watchdog)] = "--watchdog",
        [nameof(TrainerOptions.ResumeFrom)] = "--resume",
        [nameof(TrainerOptions.OverrideRateOnResume)] = "--override-lr",
    };

    /// <summary><paramref name="message"/> with every property name of <see cref="Flags"/> replaced by its flag.</summary>
    public static string Translate(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return PropertyName().Replace(message, m => Flags.TryGetValue(m.Value, out var flag) ? flag : m.Value);
    }

    /// <summary>A training-layer error as a usage error in the CLI's words.</summary>
    public static UsageException ToUsage(ArgumentException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        string message = e is TrainerOptionException || e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
        return new UsageException(Translate(message), e);
    }

    // Dotted PascalCase paths such as Lora.Rank or LearningRate, not inside a file path; unknown ones are left as they are.
    [GeneratedRegex(@"(?<![\w.\-/\\])[A-Z][A-Za-z]*(\.[A-Z][A-Za-z]*)*(?!\w|\.\w)")]
    private static partial Regex PropertyName();
}
