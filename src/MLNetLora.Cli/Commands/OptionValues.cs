using System.Globalization;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// Typed reads of option values with range checks. Every failure is a <see cref="UsageException"/>
/// that names the option, the value given and what is accepted, so the tool exits with code 2.
/// </summary>
public static class OptionValues
{
    /// <summary>An integer option in [<paramref name="min"/>, <paramref name="max"/>], or null when absent.</summary>
    /// <exception cref="UsageException">The value is not an integer or is out of range.</exception>
    public static int? Int(ParsedArguments args, string name, int min = int.MinValue, int max = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(args);
        long? v = Long(args, name, min == int.MinValue ? long.MinValue : min, max == int.MaxValue ? long.MaxValue : max);
        if (v is long big && (big < int.MinValue || big > int.MaxValue))
            throw new UsageException($"--{name} {big} is too large; give a whole number from {min} to {max}.");
        return v is null ? null : (int)v.Value;
    }

    /// <summary>A 64-bit integer option in [<paramref name="min"/>, <paramref name="max"/>], or null when absent.</summary>
    /// <exception cref="UsageException">The value is not an integer or is out of range.</exception>
    public static long? Long(ParsedArguments args, string name, long min = long.MinValue, long max = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? text = args.Option(name);
        if (text is null) return null;
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
            throw new UsageException($"--{name} {text} is not a whole number; {Range(min, max)}.");
        if (v < min || v > max) throw new UsageException($"--{name} {text} is out of range; {Range(min, max)}.");
        return v;
    }

    /// <summary>A non-negative integer option such as a seed, or null when absent.</summary>
    /// <exception cref="UsageException">The value is not a non-negative whole number.</exception>
    public static ulong? ULong(ParsedArguments args, string name)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? text = args.Option(name);
        if (text is null) return null;
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v))
            throw new UsageException($"--{name} {text} is not a non-negative whole number (for example 42).");
        return v;
    }

    /// <summary>A finite number option, or null when absent.</summary>
    /// <param name="args">The parsed command line.</param>
    /// <param name="name">The option's long name.</param>
    /// <param name="min">Smallest accepted value.</param>
    /// <param name="max">Largest accepted value.</param>
    /// <param name="minExclusive">Whether <paramref name="min"/> itself is refused (for values that must be positive).</param>
    /// <param name="maxExclusive">Whether <paramref name="max"/> itself is refused.</param>
    /// <param name="hint">Appended to the message, e.g. what values are usual.</param>
    /// <exception cref="UsageException">The value is not a finite number or is out of range.</exception>
    public static double? Double(ParsedArguments args, string name, double min = double.MinValue, double max = double.MaxValue,
        bool minExclusive = false, bool maxExclusive = false, string? hint = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? text = args.Option(name);
        if (text is null) return null;
        string range = DoubleRange(min, max, minExclusive, maxExclusive) + (hint is null ? "" : "; " + hint);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw new UsageException($"--{name} {text} is not a number; {range}.");
        bool below = minExclusive ? v <= min : v < min;
        bool above = maxExclusive ? v >= max : v > max;
        if (below || above) throw new UsageException($"--{name} {text} is out of range; {range}.");
        return v;
    }

    /// <summary>A comma-separated list option (blank items dropped), or null when absent.</summary>
    /// <exception cref="UsageException">The list is empty.</exception>
    public static IReadOnlyList<string>? List(ParsedArguments args, string name)
    {
        ArgumentNullException.ThrowIfNull(args);
        string? text = args.Option(name);
        if (text is null) return null;
        var items = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (items.Length == 0) throw new UsageException($"--{name} needs at least one name, separated by commas (for example a,b).");
        return items;
    }

    /// <summary>One of <paramref name="choices"/> (case-insensitive), or null when absent.</summary>
    /// <exception cref="UsageException">The value is not one of the choices.</exception>
    public static T? Choice<T>(ParsedArguments args, string name, IReadOnlyDictionary<string, T> choices) where T : struct
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(choices);
        string? text = args.Option(name);
        if (text is null) return null;
        foreach (var (key, value) in choices)
            if (string.Equals(key, text, StringComparison.OrdinalIgnoreCase)) return value;
        throw new UsageException($"--{name} {text} is not valid; use {string.Join(" or ", choices.Keys)}.");
    }

    private static string Range(long min, long max) => (min, max) switch
    {
        (long.MinValue, long.MaxValue) => "give a whole number",
        (_, long.MaxValue) => $"give a whole number of at least {min}",
        _ => $"give a whole number from {min} to {max}",
    };

    private static string DoubleRange(double min, double max, bool minExclusive, bool maxExclusive)
    {
        string lo = min == double.MinValue ? "" : (minExclusive ? "above " : "at least ") + min.ToString(CultureInfo.InvariantCulture);
        string hi = max == double.MaxValue ? "" : (maxExclusive ? "below " : "at most ") + max.ToString(CultureInfo.InvariantCulture);
        return (lo, hi) switch
        {
            ("", "") => "give a number",
            (_, "") => "give a number " + lo,
            ("", _) => "give a number " + hi,
            _ => $"give a number {lo} and {hi}",
        };
    }
}
