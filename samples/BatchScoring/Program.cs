// dotnet run --project samples/BatchScoring -c Release -- [--classifier ZIP] [--input FILE.tsv] [--output DIR] [--quick]
// Scores every row of a tab-separated file (columns Id, Text) with a classifier saved by samples/SpamClassifier.
// The file is read as a stream and scored in batches of the model's BatchSize, so it may be larger than memory.
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetLora.ML;
using MLNetLora.Samples;

var settings = new SampleArgs(args, "batch-scoring");
Directory.CreateDirectory(settings.Output);
string classifier = Path.GetFullPath(settings.Value("--classifier") ?? Path.Combine("spam-classifier-output", "SpamClassifier.zip"));
if (!File.Exists(classifier))
{
    Console.Error.WriteLine($"No model at {classifier}: run samples/SpamClassifier first, or pass --classifier ZIP.");
    return 2;
}
string input = settings.Value("--input") ?? StandInFile(Path.Combine(settings.Output, "mail-to-score.tsv"), settings.Quick ? 64 : 3000);

var mlContext = new MLContext();
MLNetLoraCatalog.Register(mlContext);
ITransformer model = mlContext.Model.Load(classifier, out _);
// The saved pipeline starts with MapValueToKey("Label"), so its input needs a Label column even to score
// unlabelled rows: field 2 is absent from the file, reads as empty, and maps to a missing key that scoring ignores.
var loader = mlContext.Data.CreateTextLoader(
    [new TextLoader.Column("Id", DataKind.String, 0), new TextLoader.Column("Text", DataKind.String, 1), new TextLoader.Column("Label", DataKind.String, 2)],
    separatorChar: '\t', hasHeader: true, allowQuoting: false);
IDataView scored = model.Transform(loader.Load(input));   // lazy: nothing is read or scored yet

string results = Path.Combine(settings.Output, "scored.tsv");
var clock = Stopwatch.StartNew();
long rows = 0;
using (var writer = new StreamWriter(results))
using (var cursor = scored.GetRowCursor(scored.Schema.Where(c => c.Name is "Id" or "PredictedText" or "Score")))
{
    var id = cursor.GetGetter<ReadOnlyMemory<char>>(scored.Schema["Id"]);
    var label = cursor.GetGetter<ReadOnlyMemory<char>>(scored.Schema["PredictedText"]);
    var score = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
    ReadOnlyMemory<char> idValue = default, labelValue = default;
    VBuffer<float> scores = default;
    writer.WriteLine("Id\tPredicted\tProbability");
    while (cursor.MoveNext())
    {
        id(ref idValue);
        label(ref labelValue);
        score(ref scores);
        writer.WriteLine($"{idValue}\t{labelValue}\t{scores.DenseValues().Max():F4}");
        if (++rows % 500 == 0) Console.Error.WriteLine($"{rows:N0} rows, {rows / clock.Elapsed.TotalSeconds:F0} rows/s");
    }
}
Console.WriteLine($"scored {rows:N0} rows in {clock.Elapsed.TotalSeconds:F1} s: {rows / clock.Elapsed.TotalSeconds:F0} rows/s → {results}");
(model as IDisposable)?.Dispose();
return 0;

// A stand-in for your large file: the sample's e-mails repeated, each with an id.
static string StandInFile(string path, int count)
{
    var texts = File.ReadLines(SampleArgs.DataFile("spam.tsv")).Skip(1).Select(l => l[(l.IndexOf('\t') + 1)..]).ToList();
    using var w = new StreamWriter(path);
    w.WriteLine("Id\tText");
    for (int i = 0; i < count; i++) w.WriteLine($"{i + 1}\t{texts[i % texts.Count]}");
    return path;
}
