using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetLora.Models.Tokenization;
using MLNetLora.Training.Data;
using MLNetLora.Training.Engine;

namespace MLNetLora.Cli.Commands;

/// <summary>The examples of a run: training rows, evaluation rows (if any) and the class names.</summary>
/// <param name="Train">Training examples.</param>
/// <param name="Eval">Evaluation examples, or null when none were asked for.</param>
/// <param name="ClassNames">Class index → name for classification, else empty.</param>
/// <param name="Description">How the data was read and split, for the log.</param>
public sealed record TrainingData(List<TrainingExample> Train, List<TrainingExample>? Eval, IReadOnlyList<string> ClassNames, string Description)
{
    /// <summary>Name of the class list written next to the adapter.</summary>
    public const string LabelsFileName = "labels.json";

    /// <summary>
    /// Reads the training file and the evaluation file or split. For classification the class order is
    /// <paramref name="knownClasses"/> when given (a resumed run keeps its head's order), else the sorted
    /// labels of the training file; the evaluation file must use the same labels.
    /// </summary>
    /// <exception cref="UsageException">The file holds no usable rows, too few classes, or the split leaves a side empty.</exception>
    /// <exception cref="InvalidDataException">A row lacks a field (the loader's message names row and field).</exception>
    public static TrainingData Load(CommonTrainingSettings s, HfTokenizer tokenizer, string? evalPath, double? evalSplit, ulong seed,
        IReadOnlyList<string>? knownClasses)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(tokenizer);
        bool classify = s.Task == TrainingTask.Classification;
        var options = new DatasetOptions
        {
            Classification = classify, MaxLength = s.Trainer.MaxLength, TextFields = s.TextFields, LabelField = s.LabelField,
            MaxRows = s.MaxRows, ClassNames = knownClasses,
            UseChatTemplate = s.UseChatTemplate, ChatTemplate = LoadChatTemplate(s.ChatTemplatePath, tokenizer),
        };
        if (s.UseChatTemplate && options.ChatTemplate is null && tokenizer.ChatTemplate is null)
            throw new UsageException($"--use-chat-template: the model in '{s.ModelDir}' has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja); give one with --chat-template FILE.");
        var train = DatasetLoader.Load(s.DataPath, tokenizer, options);
        var trainRows = Cap(train.Examples, s.MaxRows);
        string description = $"{Path.GetFileName(s.DataPath)} ({train.Format})";
        if (trainRows.Count == 0)
            throw new UsageException($"'{s.DataPath}' gave no training examples; check that it is not empty and that --max-length ({s.Trainer.MaxLength}) is at least 2.");
        if (classify && train.ClassNames.Count < 2)
            throw new UsageException($"Classification needs at least two classes, but the '{s.LabelField}' field of '{s.DataPath}' holds only " +
                $"[{string.Join(", ", train.ClassNames)}]. Check --label-field, or add rows of the other classes (and raise --max-rows if it cut them off).");

        List<TrainingExample>? eval = null;
        if (evalPath is not null)
        {
            var e = DatasetLoader.Load(evalPath, tokenizer, options with { ClassNames = classify ? train.ClassNames : null });
            eval = Cap(e.Examples, s.MaxRows);
            if (eval.Count == 0) throw new UsageException($"--eval-data '{evalPath}' gave no examples.");
            description += $"; evaluation on {Path.GetFileName(evalPath)} ({e.Format})";
        }
        else if (evalSplit is double fraction)
        {
            (trainRows, eval) = Split(trainRows, fraction, seed);
            description += $"; {eval.Count} held out for evaluation (--eval-split {fraction:0.###}, seed {seed})";
        }
        return new TrainingData(trainRows, eval, train.ClassNames, description);
    }

    /// <summary>The template in <paramref name="path"/> with the tokenizer's special tokens, or null when no path is given.</summary>
    /// <exception cref="UsageException">The file is not a template this renderer reads.</exception>
    public static ChatTemplate? LoadChatTemplate(string? path, HfTokenizer tokenizer)
    {
        if (path is null) return null;
        try
        {
            return ChatTemplate.Create(File.ReadAllText(path), tokenizer);
        }
        catch (Models.Templating.TemplateException e)
        {
            throw new UsageException($"--chat-template '{path}' cannot be read: {e.Message}", e);
        }
    }

    /// <summary><see cref="DataSplit.Split"/> with its error in the CLI's words.</summary>
    /// <exception cref="UsageException">One side would be empty.</exception>
    public static (List<TrainingExample> Train, List<TrainingExample> Eval) Split(IReadOnlyList<TrainingExample> rows, double fraction, ulong seed)
    {
        try
        {
            return DataSplit.Split(rows, fraction, seed);
        }
        catch (TrainerOptionException e)
        {
            throw CliOptionNames.ToUsage(e);
        }
    }

    /// <summary>Writes the class names as id2label and label2id (the keys of a Hugging Face config.json).</summary>
    public static void WriteLabels(string path, IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var id2label = new JsonObject();
        var label2id = new JsonObject();
        for (int i = 0; i < names.Count; i++)
        {
            id2label[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = names[i];
            label2id[names[i]] = i;
        }
        var root = new JsonObject { ["id2label"] = id2label, ["label2id"] = label2id };
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Class names from a labels.json written by <see cref="WriteLabels"/>, or null when the file does not exist.</summary>
    /// <exception cref="UsageException">The file is not a labels file.</exception>
    public static IReadOnlyList<string>? ReadLabels(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            var id2label = JsonNode.Parse(File.ReadAllText(path))?["id2label"]?.AsObject()
                ?? throw new JsonException("no id2label object");
            return id2label.Select(p => (Id: int.Parse(p.Key, System.Globalization.CultureInfo.InvariantCulture), Name: p.Value!.GetValue<string>()))
                .OrderBy(p => p.Id).Select(p => p.Name).ToList();
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new UsageException($"'{path}' is not a labels file ({e.Message}); it should hold id2label as written by mlnetlora train.", e);
        }
    }

    // Plain text is cut into blocks after reading, so --max-rows caps the blocks here; rows are already capped by the loader.
    private static List<TrainingExample> Cap(List<TrainingExample> rows, int? max) =>
        max is int m && rows.Count > m ? rows.GetRange(0, m) : rows;
}
