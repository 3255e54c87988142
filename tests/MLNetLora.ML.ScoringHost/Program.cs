// Fresh-process check of MLNetLora.ML's Model.Save/Load, written the way a Model Builder consumption
// program is: ModelInput/ModelOutput classes, Register, Model.Load, then Transform or a PredictionEngine.
// Usage: dotnet MLNetLora.ML.ScoringHost.dll <mode> <model.zip> [<input.tsv> <output.txt>]
//   classify | classify-engine: input columns Label, Text (header line); output lines "label<TAB>score,score,…"
//   generate | generate-engine: input column Prompt (header line, \n escaped as \\n); output one JSON string per line
//   load-unregistered: Model.Load without Register; prints the exception message and exits 3
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetLora.ML;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: MLNetLora.ML.ScoringHost <classify|classify-engine|generate|generate-engine|load-unregistered> <model.zip> [<input.tsv> <output.txt>]");
    return 2;
}
string mode = args[0], zip = args[1];
var ml = new MLContext(seed: 1);
if (mode == "load-unregistered")
{
    try
    {
        ml.Model.Load(zip, out _);
        Console.WriteLine("loaded");
        return 0;
    }
    catch (Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException) Console.WriteLine(x.GetType().Name + ": " + x.Message);
        return 3;
    }
}
MLNetLoraCatalog.Register(ml);
var model = ml.Model.Load(zip, out _);
string input = args[2], output = args[3];
var lines = new List<string>();
switch (mode)
{
    case "classify":
    {
        var data = ml.Data.LoadFromTextFile<ClassInput>(input, separatorChar: '\t', hasHeader: true, allowQuoting: false);
        var scored = model.Transform(data);
        var predicted = scored.Schema["PredictedLabel"];
        var names = default(VBuffer<ReadOnlyMemory<char>>);
        predicted.GetKeyValues(ref names);
        var nameList = names.DenseValues().Select(n => n.ToString()).ToArray();
        var keys = scored.GetColumn<uint>("PredictedLabel").ToArray();
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        for (int i = 0; i < keys.Length; i++) lines.Add(nameList[keys[i] - 1] + "\t" + Floats(scores[i]));
        break;
    }
    case "classify-engine":
    {
        // The pipeline ends in MapKeyToValue("PredictedLabel"), so the engine returns the class name.
        using var engine = ml.Model.CreatePredictionEngine<ClassInput, ClassOutput>(model);
        foreach (var row in File.ReadLines(input).Skip(1).Select(l => l.Split('\t')))
        {
            var o = engine.Predict(new ClassInput { Label = row[0], Text = row[1] });
            lines.Add(o.PredictedLabel + "\t" + Floats(o.Score));
        }
        break;
    }
    case "generate":
    {
        var prompts = Prompts(input).Select(p => new GenInput { Prompt = p }).ToList();
        var generated = model.Transform(ml.Data.LoadFromEnumerable(prompts)).GetColumn<string>("Generated");
        lines.AddRange(generated.Select(g => JsonSerializer.Serialize(g)));
        break;
    }
    case "generate-engine":
    {
        using var engine = ml.Model.CreatePredictionEngine<GenInput, GenOutput>(model);
        lines.AddRange(Prompts(input).Select(p => JsonSerializer.Serialize(engine.Predict(new GenInput { Prompt = p }).Generated)));
        break;
    }
    default:
        Console.Error.WriteLine($"unknown mode '{mode}'");
        return 2;
}
File.WriteAllLines(output, lines);
(model as IDisposable)?.Dispose();
return 0;

static string Floats(float[] v) => string.Join(",", v.Select(x => x.ToString("R", CultureInfo.InvariantCulture)));

static IEnumerable<string> Prompts(string path) => File.ReadLines(path).Skip(1).Select(l => l.Replace("\\n", "\n", StringComparison.Ordinal));

/// <summary>Classification input (Model Builder's ModelInput).</summary>
internal sealed class ClassInput
{
    [LoadColumn(0)] public string Label { get; set; } = "";
    [LoadColumn(1)] public string Text { get; set; } = "";
}

/// <summary>Classification output (Model Builder's ModelOutput).</summary>
internal sealed class ClassOutput
{
    public string PredictedLabel { get; set; } = "";
    public float[] Score { get; set; } = [];
}

/// <summary>Generation input.</summary>
internal sealed class GenInput
{
    public string Prompt { get; set; } = "";
}

/// <summary>Generation output.</summary>
internal sealed class GenOutput
{
    public string Generated { get; set; } = "";
}
