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
        ["Lora.Rank"] = nameof(LoraTrainingOptions.LoraRank),
        ["Lora.Alpha"] = nameof(LoraTrainingOptions.LoraAlpha),
        ["Lora.Dropout"] = nameof(LoraTrainingOptions.LoraDropout),
        ["Lora.TargetModules"] = nameof(LoraTrainingOptions.TargetModules),
        ["Lora.UseRsLora"] = nameof(LoraTrainingOptions.UseRsLora),
        ["Lora.UseDora"] = nameof(LoraTrainingOptions.UseDora),
        ["Adam"] = "AdamBeta1/AdamBeta2/AdamEpsilon",
    };

    /// <summary>The options field that sets a training-layer property.</summary>
    public static string FieldOf(string property) => Fields.GetValueOrDefault(property, property);

    /// <summary>Runs a training-layer check (or build) and rethrows its error naming option fields.</summary>
    /// <param name="optionsType">The options type name the message starts with.</param>
    /// <param name="check">The check.</param>
    /// <exception cref="ArgumentException">A value is invalid; the message starts with <c>OptionsType.Field</c>.</exception>
    public static T Check<T>(string optionsType, Func<T> check)
    {
        try
        {
            return check();
        }
        catch (TrainerOptionException e)
        {
            string message = PropertyName().Replace(e.Message, m => FieldOf(m.Value));
            throw new ArgumentException($"{optionsType}.{message}", FieldOf(e.Property), e);
        }
    }

    /// <summary>Runs a training-layer check that returns nothing (see <see cref="Check{T}(string, Func{T})"/>).</summary>
    public static void Check(string optionsType, Action check) => Check(optionsType, () =>
    {
        check();
        return 0;
    });

    [GeneratedRegex(@"(?<![\w.])(Lora\.[A-Z][A-Za-z]*|Adam(?![\w.]))")]
    private static partial Regex PropertyName();
}
