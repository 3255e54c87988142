using System.Globalization;

namespace MLNetLora.Training.Schedules;

/// <summary>Rates written the way users type them on the command line (<c>2e-4</c>), for logs and advice.</summary>
public static class RateText
{
    /// <summary>Up to three significant digits: <c>9.7e-4</c>, <c>1e-3</c>.</summary>
    public static string Format(double rate) => Write(rate, "0.##e0");

    /// <summary>One significant digit, for advice such as "lower LearningRate to 3e-4".</summary>
    public static string Round(double rate) => Write(rate, "0e0");

    private static string Write(double rate, string format)
    {
        if (rate == 0 || !double.IsFinite(rate)) return rate.ToString(CultureInfo.InvariantCulture);
        return rate.ToString(format, CultureInfo.InvariantCulture);
    }
}
