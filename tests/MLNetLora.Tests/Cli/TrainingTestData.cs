using System.Text.Json;
using MLNetLora.Training.Reporting;

namespace MLNetLora.Tests.Cli;

/// <summary>Small data files and metrics readers for the training commands' tests.</summary>
internal static class TrainingTestData
{
    /// <summary>The first <paramref name="chars"/> characters of Moby-Dick, so a test tokenizes kilobytes, not the whole book.</summary>
    public static string MobyDickSlice(string dir, int chars = 16_000)
    {
        string path = Path.Combine(dir, "moby-slice.txt");
        using var reader = new StreamReader(TestPaths.Data("moby-dick.txt"));
        var buffer = new char[chars];
        int n = reader.ReadBlock(buffer, 0, chars);
        File.WriteAllText(path, new string(buffer, 0, n));
        return path;
    }

    /// <summary>
    /// A JSONL file shaped like the SpamAssassin set (subject, body, label), with two classes whose
    /// wording differs, alternating so any prefix holds both.
    /// </summary>
    public static string MailJsonl(string dir, int rows = 32, bool withLabel = true, string[]? classes = null)
    {
        classes ??= ["ham", "spam"];
        string[] hamWords = ["meeting", "notes", "tomorrow", "project", "lunch", "report"];
        string[] spamWords = ["winner", "free", "money", "click", "offer", "prize"];
        string path = Path.Combine(dir, "mail.jsonl");
        var lines = new List<string>();
        for (int i = 0; i < rows; i++)
        {
            string label = classes[i % classes.Length];
            var words = label == "spam" ? spamWords : hamWords;
            var row = new Dictionary<string, string>
            {
                ["subject"] = $"{words[i % words.Length]} {words[(i + 1) % words.Length]}",
                ["body"] = string.Join(' ', Enumerable.Range(0, 8).Select(k => words[(i + k) % words.Length])),
            };
            if (withLabel) row["label"] = label;
            lines.Add(JsonSerializer.Serialize(row));
        }
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>Every row of a metrics file, parsed, in file order.</summary>
    public static List<JsonElement> MetricsRows(string path) =>
        File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    /// <summary>The training rows of a metrics file, in file order (a resumed run appends, so steps may repeat).</summary>
    public static List<JsonElement> TrainRows(string path) =>
        MetricsRows(path).Where(r => r.GetProperty("type").GetString() == "train").ToList();

    /// <summary>The evaluation losses of a metrics file by step.</summary>
    public static List<EvalRow> EvalRows(string path) => MetricsFile.Read(path).Eval;

    /// <summary>Whether the file starts with the PNG signature.</summary>
    public static bool IsPng(string path)
    {
        var head = new byte[4];
        using var f = File.OpenRead(path);
        return f.Read(head, 0, 4) == 4 && head[0] == 0x89 && head[1] == (byte)'P' && head[2] == (byte)'N' && head[3] == (byte)'G';
    }
}
