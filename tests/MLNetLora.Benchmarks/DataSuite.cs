using System.Diagnostics;
using System.Text.Json;
using MLNetLora.Models.Tokenization;
using MLNetLora.Training.Data;

namespace MLNetLora.Benchmarks;

/// <summary>
/// The data path against the training step: a ~100 MB JSONL of Moby-Dick paragraphs is tokenized by
/// <see cref="DatasetLoader"/> with the shared byte-level BPE tokenizer and collated into 8 × 256
/// batches; tokens/s and the memory it takes say whether it could ever hold a step back.
/// </summary>
internal static class DataSuite
{
    public static void Run(BenchOptions options)
    {
        string shared = Path.GetFullPath(Path.Combine(options.OutputDirectory, "..", "..", "..", "shared"));
        var tokenizer = HfTokenizer.Load(Path.Combine(shared, "fixtures", "hf", "tokenizer-bpe"));
        string text = File.ReadAllText(Path.Combine(shared, "data", "moby-dick.txt"));
        var paragraphs = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(p => p.Length > 40).ToArray();
        string file = Path.Combine(options.TempRoot, "mlnetlora-data-" + Guid.NewGuid().ToString("N") + ".jsonl");
        long target = (long)options.SizeMiB * 1_000_000 / 10;                 // --size-mib 1024 → ~100 MB
        try
        {
            long written = 0;
            using (var w = new StreamWriter(file))
                for (int i = 0; written < target; i++)
                {
                    string line = JsonSerializer.Serialize(new { text = paragraphs[i % paragraphs.Length] });
                    w.WriteLine(line);
                    written += line.Length + 1;
                }
            GC.Collect();
            long before = Environment.WorkingSet;
            var sw = Stopwatch.StartNew();
            var data = DatasetLoader.Load(file, tokenizer, new DatasetOptions { MaxLength = 256 });
            double load = sw.Elapsed.TotalSeconds;
            long tokens = data.Examples.Sum(e => (long)e.InputIds.Length);
            long afterLoad = Environment.WorkingSet;
            sw.Restart();
            int batches = 0;
            for (int i = 0; i + 8 <= data.Examples.Count; i += 8, batches++)
                Collator.Collate(data.Examples.Skip(i).Take(8).ToList(), 0, 256);
            double collate = sw.Elapsed.TotalSeconds;
            Console.WriteLine("| stage | seconds | MB/s | tokens/s |");
            Console.WriteLine("|---|---:|---:|---:|");
            Console.WriteLine($"| read + tokenize {written / 1e6:F0} MB ({data.Examples.Count} rows, {tokens} tokens) | {load:F1} | {written / 1e6 / load:F1} | {tokens / load:F0} |");
            Console.WriteLine($"| collate {batches} batches of 8 × 256 | {collate:F1} | | {tokens / collate:F0} |");
            Console.WriteLine($"working set: +{(afterLoad - before) / 1e6:F0} MB after loading ({(afterLoad - before) / (double)written:F1}x the file)");
            ResultFile.Write(options.OutputDirectory, options.ResultName("data"), new
            {
                suite = "data",
                machine = MachineInfo.Collect(),
                fileBytes = written, rows = data.Examples.Count, tokens, loadSeconds = load, collateSeconds = collate, batches,
                workingSetGrowthBytes = afterLoad - before,
            });
        }
        finally
        {
            File.Delete(file);
        }
    }
}
