using Microsoft.ML;

namespace MLNetLora.ML;

/// <summary>Reads prompt (and response) text columns of a data view once.</summary>
internal static class GenerationRows
{
    /// <summary>Every row's prompt and response (null when <paramref name="responseColumn"/> is null).</summary>
    /// <exception cref="ArgumentException">A column is missing or not text.</exception>
    public static List<(string Prompt, string? Response)> Read(IDataView data, string promptColumn, string? responseColumn)
    {
        var prompt = SchemaChecks.TextColumn(data.Schema, promptColumn, "PromptColumnName");
        var response = responseColumn is null ? (DataViewSchema.Column?)null : SchemaChecks.TextColumn(data.Schema, responseColumn, "ResponseColumnName");
        var rows = new List<(string, string?)>();
        using var cursor = data.GetRowCursor(response is { } r ? [prompt, r] : [prompt]);
        var getPrompt = cursor.GetGetter<ReadOnlyMemory<char>>(prompt);
        var getResponse = response is { } rc ? cursor.GetGetter<ReadOnlyMemory<char>>(rc) : null;
        ReadOnlyMemory<char> p = default, a = default;
        while (cursor.MoveNext())
        {
            getPrompt(ref p);
            if (getResponse is not null) getResponse(ref a);
            rows.Add((p.ToString(), getResponse is null ? null : a.ToString()));
        }
        return rows;
    }
}
