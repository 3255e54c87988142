namespace MLNetLora.Models.Checkpoints;

/// <summary>Finds the known names closest to a mistyped one, for "did you mean" hints in error messages.</summary>
public static class NameSuggestions
{
    /// <summary>Up to <paramref name="count"/> names from <paramref name="candidates"/>, closest first.</summary>
    public static IReadOnlyList<string> Closest(string name, IEnumerable<string> candidates, int count = 5) =>
        candidates
            .Select(c => (Name: c, Distance: EditDistance(name, c)))
            .OrderBy(e => e.Distance)
            .ThenBy(e => e.Name, StringComparer.Ordinal)
            .Take(count)
            .Select(e => e.Name)
            .ToArray();

    /// <summary>A sentence listing the closest names, or an empty string when there are none.</summary>
    public static string Hint(string name, IEnumerable<string> candidates)
    {
        var closest = Closest(name, candidates);
        return closest.Count == 0 ? "" : " Closest names: " + string.Join(", ", closest.Select(c => "'" + c + "'")) + ".";
    }

    /// <summary>Levenshtein distance; tensor names are short, so the quadratic cost does not matter.</summary>
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
