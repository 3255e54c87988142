// Fresh-process check of MLNetLora.ML's Model.Save/Load: registers the loader, loads a saved
// pipeline, scores a TSV (columns Label, Text; header line) and writes one line per row:
// the predicted label name, a tab, and the scores as round-trip floats separated by commas.
// Usage: dotnet MLNetLora.ML.ScoringHost.dll <model.zip> <input.tsv> <output.tsv>
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetLora.ML;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: MLNetLora.ML.ScoringHost <model.zip> <input.tsv> <output.tsv>");
    return 2;
}
var ml = new MLContext(seed: 1);
MLNetLoraCatalog.Register(ml);
var model = ml.Model.Load(args[0], out _);
var data = ml.Data.LoadFromTextFile<HostRow>(args[1], separatorChar: '\t', hasHeader: true, allowQuoting: false);
var scored = model.Transform(data);
var predicted = scored.Schema["PredictedLabel"];
var names = default(VBuffer<ReadOnlyMemory<char>>);
predicted.GetKeyValues(ref names);
var nameList = names.DenseValues().Select(n => n.ToString()).ToArray();
using var writer = new StreamWriter(args[2]);
using (var cursor = scored.GetRowCursor([predicted, scored.Schema["Score"]]))
{
    var getPredicted = cursor.GetGetter<uint>(predicted);
    var getScore = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
    uint key = 0;
    var score = default(VBuffer<float>);
    while (cursor.MoveNext())
    {
        getPredicted(ref key);
        getScore(ref score);
        writer.WriteLine(nameList[key - 1] + "\t" + string.Join(",", score.DenseValues().Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
    }
}
(model as IDisposable)?.Dispose();
return 0;

/// <summary>One input row.</summary>
internal sealed class HostRow
{
    [LoadColumn(0)] public string Label { get; set; } = "";
    [LoadColumn(1)] public string Text { get; set; } = "";
}
