using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetLora.ML;

/// <summary>
/// The row-to-row mapper behind <c>mlContext.Model.CreatePredictionEngine</c>: one row per call,
/// scored when an output column is first read and cached until the input row changes (its position
/// or its text). The mapper holds no per-call state beyond that cache, so each PredictionEngine gets
/// its own rows; the forward passes of the shared scorer are serialised.
/// </summary>
internal sealed class ScoredRowMapper(DataViewSchema inputSchema, DataViewSchema outputSchema, TextScorer scorer) : IRowToRowMapper
{
    public DataViewSchema InputSchema => inputSchema;

    public DataViewSchema OutputSchema => outputSchema;

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var needed = dependingColumns.ToList();
        var inputs = needed.Where(c => c.Index < inputSchema.Count).Select(c => inputSchema[c.Index]).ToList();
        if (needed.Any(c => c.Index >= inputSchema.Count)) inputs.AddRange(scorer.InputColumns.Select(n => inputSchema[n]));
        return inputs.DistinctBy(c => c.Index).ToList();
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new Row(input, outputSchema, scorer, activeColumns.Select(c => c.Index).ToHashSet());
    }

    private sealed class Row(DataViewRow input, DataViewSchema schema, TextScorer scorer, HashSet<int> active) : DataViewRow
    {
        private readonly ValueGetter<ReadOnlyMemory<char>>[] texts =
            scorer.InputColumns.Select(n => input.GetGetter<ReadOnlyMemory<char>>(input.Schema[n])).ToArray();
        private long cachedPosition = -1;
        private string[]? cachedInput;
        private object[]? cached;

        public override DataViewSchema Schema => schema;

        public override long Position => input.Position;

        public override long Batch => input.Batch;

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index < input.Schema.Count ? input.IsColumnActive(input.Schema[column.Index]) : active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < input.Schema.Count) return input.GetGetter<TValue>(input.Schema[column.Index]);
            int k = column.Index - input.Schema.Count;
            return TextScorer.Getter<TValue>(column, () => Current()[k]);
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => input.GetIdGetter();

        // A PredictionEngine reuses one input row for every call; the texts are compared as well as
        // the position, so a reused position never returns another row's output.
        private object[] Current()
        {
            var value = default(ReadOnlyMemory<char>);
            var row = new string[texts.Length];
            for (int i = 0; i < row.Length; i++)
            {
                texts[i](ref value);
                row[i] = value.ToString();
            }
            if (cached is null || cachedPosition != input.Position || !row.AsSpan().SequenceEqual(cachedInput))
            {
                cached = scorer.Score([row])[0];
                cachedInput = row;
                cachedPosition = input.Position;
            }
            return cached;
        }
    }
}
