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

    /// <summary>Levenshtein distance between two strings.</summary>
    public static int EditDistance(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
