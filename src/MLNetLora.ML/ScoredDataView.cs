using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetLora.ML;

/// <summary>
/// The input data plus a LoRA transformer's output columns, computed lazily: a cursor passes input
/// columns through from one input cursor and reads the text columns ahead with a second cursor over
/// the same (unshuffled) rows, so each forward pass scores <see cref="TextScorer.BatchSize"/> rows.
/// </summary>
internal sealed class ScoredDataView(IDataView input, DataViewSchema schema, TextScorer scorer) : IDataView
{
    public bool CanShuffle => false;

    public DataViewSchema Schema => schema;

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(input, schema, scorer, columnsNeeded);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly DataViewSchema schema;
        private readonly TextScorer scorer;
        private readonly DataViewRowCursor main;
        private readonly DataViewRowCursor? ahead;
        private readonly ValueGetter<ReadOnlyMemory<char>>[] aheadText = [];
        private readonly int inputCount;
        private readonly bool scoresActive;
        private object[][] buffer = [];
        private long bufferStart;
        private long position = -1;

        public Cursor(IDataView input, DataViewSchema schema, TextScorer scorer, IEnumerable<DataViewSchema.Column> needed)
        {
            this.schema = schema;
            this.scorer = scorer;
            inputCount = input.Schema.Count;
            var neededList = needed.ToList();
            scoresActive = neededList.Any(c => c.Index >= inputCount);
            main = input.GetRowCursor(neededList.Where(c => c.Index < inputCount).Select(c => input.Schema[c.Index]));
            if (scoresActive)
            {
                var texts = scorer.InputColumns.Select(n => input.Schema[n]).ToArray();
                ahead = input.GetRowCursor(texts);
                aheadText = texts.Select(t => ahead.GetGetter<ReadOnlyMemory<char>>(t)).ToArray();
            }
        }

        public override DataViewSchema Schema => schema;

        public override long Position => position;

        public override long Batch => main.Batch;

        public override bool MoveNext()
        {
            if (!main.MoveNext()) return false;
            position++;
            if (scoresActive && position >= bufferStart + buffer.Length) Fill();
            return true;
        }

        private void Fill()
        {
            bufferStart = position;
            var rows = new List<string[]>(scorer.BatchSize);
            var value = default(ReadOnlyMemory<char>);
            while (rows.Count < scorer.BatchSize && ahead!.MoveNext())
            {
                var row = new string[aheadText.Length];
                for (int i = 0; i < row.Length; i++)
                {
                    aheadText[i](ref value);
                    row[i] = value.ToString();
                }
                rows.Add(row);
            }
            if (rows.Count == 0) throw new InvalidOperationException("The input data returned fewer rows to the text read-ahead cursor than to the main cursor; its row order must be deterministic.");
            buffer = scorer.Score(rows);
        }

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index < inputCount ? main.IsColumnActive(main.Schema[column.Index]) : scoresActive;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < inputCount) return main.GetGetter<TValue>(main.Schema[column.Index]);
            int k = column.Index - inputCount;
            return TextScorer.Getter<TValue>(column, () => buffer[position - bufferStart][k]);
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => main.GetIdGetter();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                main.Dispose();
                ahead?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
