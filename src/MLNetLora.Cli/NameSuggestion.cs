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

    /// <summary>Levenshtein distance between two strings (shared with the checkpoint error hints).</summary>
    public static int EditDistance(string a, string b) => MLNetLora.Models.Checkpoints.NameSuggestions.EditDistance(a, b);
}
