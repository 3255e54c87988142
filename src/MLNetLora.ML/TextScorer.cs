using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetLora.ML;

/// <summary>One output column of a LoRA transformer.</summary>
/// <param name="Name">Column name.</param>
/// <param name="Type">Key (uint), vector of Single (float[]) or Text (string).</param>
/// <param name="Annotations">KeyValues or SlotNames, or null.</param>
internal sealed record ScoredColumn(string Name, DataViewType Type, DataViewSchema.Annotations? Annotations = null);

/// <summary>
/// What a LoRA transformer computes from text columns, a batch of rows at a time: the one piece the
/// batched <see cref="ScoredDataView"/> (Transform) and the one-row <see cref="ScoredRowMapper"/>
/// (PredictionEngine) share. Implementations serialise their forward passes, so one scorer may be
/// used from several threads.
/// </summary>
internal abstract class TextScorer
{
    /// <summary>Text columns read per row, in the order <see cref="Score"/> receives them; null entries are optional columns that are absent.</summary>
    public abstract IReadOnlyList<string> InputColumns { get; }

    /// <summary>The options field that names each of <see cref="InputColumns"/>, for error messages.</summary>
    public abstract IReadOnlyList<string> InputOptions { get; }

    /// <summary>Rows per forward pass.</summary>
    public abstract int BatchSize { get; }

    /// <summary>The columns added to the input schema.</summary>
    public abstract IReadOnlyList<ScoredColumn> Outputs { get; }

    /// <summary>Values of every output column for each row: uint for keys, float[] for vectors, string for text.</summary>
    public abstract object[][] Score(IReadOnlyList<string[]> rows);

    /// <summary>The input schema plus <see cref="Outputs"/>, after checking the input columns are text.</summary>
    /// <exception cref="ArgumentException">An input column is missing or not text.</exception>
    public DataViewSchema OutputSchema(DataViewSchema input)
    {
        for (int i = 0; i < InputColumns.Count; i++) SchemaChecks.TextColumn(input, InputColumns[i], InputOptions[i]);
        var b = new DataViewSchema.Builder();
        b.AddColumns(input);
        foreach (var o in Outputs) b.AddColumn(o.Name, o.Type, o.Annotations);
        return b.ToSchema();
    }

    /// <summary>A getter over the current row's value of an output column.</summary>
    public static ValueGetter<TValue> Getter<TValue>(DataViewSchema.Column column, Func<object> current)
    {
        Delegate getter = column.Type switch
        {
            KeyDataViewType => (ValueGetter<uint>)((ref uint dst) => dst = (uint)current()),
            VectorDataViewType => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
            {
                var v = (float[])current();
                dst = new VBuffer<float>(v.Length, (float[])v.Clone());
            }),
            TextDataViewType => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> dst) => dst = ((string)current()).AsMemory()),
            _ => throw new InvalidOperationException($"Column '{column.Name}' has unsupported type {column.Type}."),
        };
        return getter as ValueGetter<TValue> ?? throw new InvalidOperationException(
            $"Column '{column.Name}' is {column.Type}; it was requested as {typeof(TValue).Name}.");
    }

    /// <summary>Names of class labels as a KeyValues or SlotNames annotation.</summary>
    public static DataViewSchema.Annotations NamesAnnotation(IReadOnlyList<string> names, bool key)
    {
        var ab = new DataViewSchema.Annotations.Builder();
        ValueGetter<VBuffer<ReadOnlyMemory<char>>> getter = (ref VBuffer<ReadOnlyMemory<char>> dst) =>
            dst = new VBuffer<ReadOnlyMemory<char>>(names.Count, names.Select(n => n.AsMemory()).ToArray());
        ab.Add(key ? "KeyValues" : "SlotNames", new VectorDataViewType(TextDataViewType.Instance, names.Count), getter);
        return ab.ToAnnotations();
    }
}
