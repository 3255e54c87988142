using System.Text.RegularExpressions;
using MLNetLora.Training.Engine;

namespace MLNetLora.ML;

/// <summary>
/// The one table from <see cref="TrainerOptions"/> property names to the fields of the ML.NET options
/// that set them (most share the name). Training-layer errors are rethrown naming the field.
/// </summary>
internal static partial class MLOptionNames
{
    private static readonly Dictionary<string, string> Fields = new()
    {
        ["Lora.Rank"] = nameof(LoraClassificationOptions.LoraRank),
        ["Lora.Alpha"] = nameof(LoraClassificationOptions.LoraAlpha),
        ["Lora.Dropout"] = nameof(LoraClassificationOptions.LoraDropout),
        ["Lora.TargetModules"] = nameof(LoraClassificationOptions.TargetModules),
        ["Watchdog"] = nameof(LoraClassificationOptions.WatchdogPolicy),
    };

    /// <summary>Runs a training-layer check (or build) and rethrows its error naming option fields.</summary>
    /// <exception cref="ArgumentException">A value is invalid; the message starts with <c>LoraClassificationOptions.Field</c>.</exception>
    public static T Check<T>(Func<T> check)
    {
        try
        {
            return check();
        }
        catch (TrainerOptionException e)
        {
            string field = Fields.GetValueOrDefault(e.Property, e.Property);
            string message = PropertyName().Replace(e.Message, m => Fields.GetValueOrDefault(m.Value, m.Value));
            throw new ArgumentException($"{nameof(LoraClassificationOptions)}.{message}", field, e);
        }
    }

    [GeneratedRegex(@"(?<![\w.])Lora\.[A-Z][A-Za-z]*|(?<![\w.])Watchdog(?!\w)")]
    private static partial Regex PropertyName();
}
