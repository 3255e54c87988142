using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetLora.ML;

/// <summary>Input-schema checks with messages that say what to change.</summary>
internal static class SchemaChecks
{
    /// <summary>The text column exists and is of type Text.</summary>
    /// <param name="schema">The input schema.</param>
    /// <param name="name">The column.</param>
    /// <param name="option">The options field that names it, for the message.</param>
    public static DataViewSchema.Column TextColumn(DataViewSchema schema, string name, string option = "TextColumnName")
    {
        var col = schema.GetColumnOrNull(name) ?? throw new ArgumentException(
            $"The input has no text column '{name}' (it has: {string.Join(", ", schema.Select(c => c.Name))}). Set {option}.");
        if (col.Type is not TextDataViewType) throw WrongText(name, col.Type.ToString()!, option);
        return col;
    }

    /// <summary>The label column exists and is a key type; returns it and its class count.</summary>
    public static (DataViewSchema.Column Column, int Classes) LabelColumn(DataViewSchema schema, string name)
    {
        var col = schema.GetColumnOrNull(name) ?? throw new ArgumentException(
            $"The input has no label column '{name}' (it has: {string.Join(", ", schema.Select(c => c.Name))}). Set LabelColumnName.");
        if (col.Type is not KeyDataViewType key) throw WrongLabel(name, col.Type.ToString()!);
        if (key.Count < 2 || key.Count > int.MaxValue)
            throw new ArgumentException($"Label column '{name}' has {key.Count} {(key.Count == 1 ? "class" : "classes")}; classification needs at least 2 (does every row have the same label?).");
        return (col, (int)key.Count);
    }

    /// <summary>The error for a text column of another type.</summary>
    public static ArgumentException WrongText(string name, string type, string option = "TextColumnName") => new(
        $"Text column '{name}' has type {type}, but LoraTrainer needs Text (string); " +
        $"convert it (e.g. mlContext.Transforms.Conversion.ConvertType or CustomMapping) or point {option} at a string column.");

    /// <summary>The error for a label column that is not a key.</summary>
    public static ArgumentException WrongLabel(string name, string type) => new(
        $"Label column '{name}' has type {type}, but LoraTrainer needs a key type; " +
        $"add mlContext.Transforms.Conversion.MapValueToKey(\"{name}\") before it in the pipeline.");

    /// <summary>Class names from the label's KeyValues annotation (text), else "0", "1", ….</summary>
    public static string[] LabelNames(DataViewSchema.Column label, int classes)
    {
        if (HasTextNames(label))
        {
            var names = default(VBuffer<ReadOnlyMemory<char>>);
            label.GetKeyValues(ref names);
            var dense = names.DenseValues().Select(v => v.ToString()).ToArray();
            if (dense.Length == classes) return dense;
        }
        return Enumerable.Range(0, classes).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>Whether a key column carries text KeyValues (class names).</summary>
    public static bool HasTextNames(DataViewSchema.Column label) =>
        label.Annotations.Schema.GetColumnOrNull("KeyValues") is { Type: VectorDataViewType { ItemType: TextDataViewType } };

    /// <summary>A text column of an estimator's input shape exists and is a scalar Text.</summary>
    /// <exception cref="ArgumentException">It is missing or of another type; the message names the options field.</exception>
    public static void TextColumn(SchemaShape shape, string name, string option)
    {
        var text = shape.Where(c => c.Name == name).Select(c => (SchemaShape.Column?)c).LastOrDefault()
            ?? throw new ArgumentException($"The input has no text column '{name}'. Set {option}.");
        if (text.Kind != SchemaShape.Column.VectorKind.Scalar || text.ItemType is not TextDataViewType)
            throw WrongText(name, text.Kind == SchemaShape.Column.VectorKind.Scalar ? text.ItemType.ToString()! : $"{text.Kind} of {text.ItemType}", option);
    }
}
