using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetLora.ML;

/// <summary>
/// The input data plus predicted label and scores. A cursor passes input columns through from one
/// input cursor and reads the text ahead with a second cursor over the same (unshuffled) rows, so
/// each forward pass scores <see cref="LoraClassificationTransformer.BatchSize"/> rows.
/// </summary>
internal sealed class LoraScoredDataView(IDataView input, DataViewSchema schema, LoraClassificationTransformer transformer) : IDataView
{
    public bool CanShuffle => false;

    public DataViewSchema Schema => schema;

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(input, schema, transformer, columnsNeeded);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly DataViewSchema schema;
        private readonly LoraClassificationTransformer transformer;
        private readonly DataViewRowCursor main;
        private readonly DataViewRowCursor? ahead;
        private readonly ValueGetter<ReadOnlyMemory<char>>? aheadText;
        private readonly int inputCount;
        private readonly bool scoresActive;
        private float[][] buffer = [];
        private long bufferStart;
        private long position = -1;

        public Cursor(IDataView input, DataViewSchema schema, LoraClassificationTransformer transformer, IEnumerable<DataViewSchema.Column> needed)
        {
            this.schema = schema;
            this.transformer = transformer;
            inputCount = input.Schema.Count;
            var neededList = needed.ToList();
            scoresActive = neededList.Any(c => c.Index >= inputCount);
            main = input.GetRowCursor(neededList.Where(c => c.Index < inputCount).Select(c => input.Schema[c.Index]));
            if (scoresActive)
            {
                var text = input.Schema[transformer.TextColumnName];
                ahead = input.GetRowCursor([text]);
                aheadText = ahead.GetGetter<ReadOnlyMemory<char>>(text);
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
            var texts = new List<string>(transformer.BatchSize);
            var value = default(ReadOnlyMemory<char>);
            while (texts.Count < transformer.BatchSize && ahead!.MoveNext())
            {
                aheadText!(ref value);
                texts.Add(value.ToString());
            }
            if (texts.Count == 0) throw new InvalidOperationException("The input data returned fewer rows to the text read-ahead cursor than to the main cursor; its row order must be deterministic.");
            buffer = transformer.ScoreTexts(texts);
        }

        private float[] Current => buffer[position - bufferStart];

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index < inputCount ? main.IsColumnActive(main.Schema[column.Index]) : scoresActive;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < inputCount) return main.GetGetter<TValue>(main.Schema[column.Index]);
            Delegate getter = column.Index == inputCount
                ? (ValueGetter<uint>)((ref uint dst) => dst = (uint)ArgMax(Current) + 1)
                : (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) => dst = new VBuffer<float>(Current.Length, (float[])Current.Clone()));
            return getter as ValueGetter<TValue> ?? throw new InvalidOperationException(
                $"Column '{column.Name}' is {column.Type}; it was requested as {typeof(TValue).Name}.");
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

        private static int ArgMax(float[] v)
        {
            int best = 0;
            for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
            return best;
        }
    }
}
