using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MLNetLora.ML;

/// <summary>
/// Reads the texts and classes of a classification data view once. A key label is used as it is;
/// a text label (a ValidationSet that did not pass through the pipeline's MapValueToKey) is mapped
/// by the training label's class names.
/// </summary>
internal static class ClassificationRows
{
    /// <summary>Every labelled row's texts (text, and second sentence when set) and class index.</summary>
    /// <exception cref="ArgumentException">A column is missing or of the wrong type, or a label is not one of the classes.</exception>
    public static List<(string[] Texts, int Class)> Read(IDataView data, LoraClassificationOptions options, IReadOnlyList<string> classNames,
        string what, IChannel ch)
    {
        var texts = new List<DataViewSchema.Column> { SchemaChecks.TextColumn(data.Schema, options.TextColumnName) };
        if (options.Sentence2ColumnName is string s2) texts.Add(SchemaChecks.TextColumn(data.Schema, s2, nameof(options.Sentence2ColumnName)));
        var label = data.Schema.GetColumnOrNull(options.LabelColumnName) ?? throw new ArgumentException(
            $"The {what} has no label column '{options.LabelColumnName}' (it has: {string.Join(", ", data.Schema.Select(c => c.Name))}). Set LabelColumnName.");
        Func<DataViewRowCursor, Func<int?>> labelReader = label.Type switch
        {
            KeyDataViewType key when key.Count == (ulong)classNames.Count => KeyReader(label),
            KeyDataViewType key => throw new ArgumentException($"The {what}'s label has {key.Count} classes but the training data's has {classNames.Count}; " +
                "map both with the same fitted MapValueToKey transformer."),
            TextDataViewType => TextReader(label, classNames, what),
            _ => throw new ArgumentException($"The {what}'s label column '{options.LabelColumnName}' has type {label.Type}, but needs a key type or text. " +
                $"Map it with the pipeline's fitted MapValueToKey (e.g. ValidationSet = keyTransformer.Transform(validation)), or give the label as text " +
                "(mapped by the training label's class names)."),
        };
        var rows = new List<(string[], int)>();
        long missing = 0;
        using var cursor = data.GetRowCursor([.. texts, label]);
        var getTexts = texts.Select(t => cursor.GetGetter<ReadOnlyMemory<char>>(t)).ToArray();
        var getLabel = labelReader(cursor);
        ReadOnlyMemory<char> value = default;
        while (cursor.MoveNext())
        {
            if (getLabel() is not int cls) { missing++; continue; }
            var row = new string[getTexts.Length];
            for (int i = 0; i < row.Length; i++)
            {
                getTexts[i](ref value);
                row[i] = value.ToString();
            }
            rows.Add((row, cls));
        }
        if (missing > 0) ch.Warning(MessageSensitivity.None, $"{missing} {what} rows have a missing label (a value MapValueToKey did not know) and were skipped.");
        if (rows.Count == 0 && missing > 0)
            throw new ArgumentException($"The {what} has no rows with a label in '{options.LabelColumnName}' ({missing} rows have a missing label).");
        return rows;
    }

    private static Func<DataViewRowCursor, Func<int?>> KeyReader(DataViewSchema.Column label) => cursor =>
    {
        var get = cursor.GetGetter<uint>(label);
        uint key = 0;
        return () =>
        {
            get(ref key);
            return key == 0 ? null : (int)key - 1;
        };
    };

    private static Func<DataViewRowCursor, Func<int?>> TextReader(DataViewSchema.Column label, IReadOnlyList<string> classNames, string what) => cursor =>
    {
        var get = cursor.GetGetter<ReadOnlyMemory<char>>(label);
        var index = classNames.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        ReadOnlyMemory<char> text = default;
        return () =>
        {
            get(ref text);
            string s = text.ToString();
            return index.TryGetValue(s, out int i) ? i
                : throw new ArgumentException($"The {what}'s label '{s}' is not one of the training classes [{string.Join(", ", classNames)}].");
        };
    };
}
