using MLNetLora.Models.Checkpoints;
using MLNetLora.LibTorch;
using MLNetLora.Models.Lora;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Engine;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// The options <c>train</c> and <c>lr-find</c> share, as checked values (no model or data loaded yet):
/// where the model and data are, and the part of the run's <see cref="TrainerOptions"/> they set.
/// </summary>
/// <param name="ModelDir">The base model folder.</param>
/// <param name="DataPath">The training data file.</param>
/// <param name="TextFields">Fields holding the text, or null for the loader's default.</param>
/// <param name="LabelField">Field holding the class label.</param>
/// <param name="MaxRows">At most this many rows (or text blocks).</param>
/// <param name="InitAdapter">Adapter folder to start from, if any.</param>
/// <param name="LoraGiven">Whether any LoRA shape option was given on the command line.</param>
/// <param name="SeedGiven">Whether --seed was given.</param>
/// <param name="Trainer">Task, max length, LoRA shape, LoRA+ ratio, batch, seed, shuffle, device, precision, checkpointing.</param>
public sealed record CommonTrainingSettings(
    string ModelDir, string DataPath, IReadOnlyList<string>? TextFields, string LabelField, int? MaxRows, string? InitAdapter,
    bool LoraGiven, bool SeedGiven, TrainerOptions Trainer)
{
    /// <summary>Causal LM or classification.</summary>
    public TrainingTask Task => Trainer.Task;

    /// <summary>A Jinja file to use instead of the model's chat template, or null.</summary>
    public string? ChatTemplatePath { get; init; }

    /// <summary>Whether prompt/response rows go through the chat template too.</summary>
    public bool UseChatTemplate { get; init; }
}

/// <summary>Option specs and checks for the data, LoRA and runtime options of <c>train</c> and <c>lr-find</c>.</summary>
public static class TrainingArguments
{
    private static readonly Dictionary<string, TrainingTask> Tasks = new(StringComparer.OrdinalIgnoreCase)
    {
        ["causal-lm"] = TrainingTask.CausalLm,
        ["classification"] = TrainingTask.Classification,
    };

    private static readonly Dictionary<string, DType> Precisions = new(StringComparer.OrdinalIgnoreCase)
    {
        ["fp32"] = LibTorch.DType.Float32,
        ["bf16"] = LibTorch.DType.BFloat16,
    };

    private static readonly Dictionary<string, FineTuneMethod> Methods = new(StringComparer.OrdinalIgnoreCase)
    {
        ["lora"] = FineTuneMethod.Lora,
        ["qlora"] = FineTuneMethod.QLora,
        ["full"] = FineTuneMethod.Full,
    };

    private static readonly string[] LoraShapeOptions = ["lora-r", "lora-alpha", "lora-dropout", "target-modules", "use-rslora", "dora"];

    /// <summary>The data options.</summary>
    public static IReadOnlyList<OptionSpec> Data { get; } =
    [
        new("data", "FILE", "Training data: .txt, .csv, .tsv or .jsonl, optionally .gz", Required: true),
        new("task", "TASK", "causal-lm (default) or classification"),
        new("max-length", "N", $"Longest sequence in tokens; longer rows are cut, plain text is split into blocks of N (default {TrainingDefaults.MaxLength})"),
        new("text-fields", "A,B", "Field(s) holding the text, joined with a newline (default: text)"),
        new("label-field", "NAME", "Field holding the class label (default: label)"),
        new("max-rows", "N", "Use at most N rows (or text blocks) of each data file"),
        new("use-chat-template", null, "Render prompt/response rows as a user and an assistant turn with the model's chat template (messages rows always are)"),
        new("chat-template", "FILE", "A Jinja chat template to use instead of the model's"),
    ];

    /// <summary>The method options: what is trained.</summary>
    public static IReadOnlyList<OptionSpec> Method { get; } =
    [
        new("method", "M", $"lora (default; adapters over a frozen base), qlora (adapters over a 4-bit NF4 base) or full (every weight; default rate {RateText(FineTuneMethod.Full)} instead of {RateText(FineTuneMethod.Lora)})"),
        new("freeze-layers", "N", "Full fine-tuning: keep the first N decoder layers frozen"),
        new("freeze-embeddings", null, "Full fine-tuning: keep the token embeddings (and a tied LM head) frozen"),
        new("no-double-quant", null, "QLoRA: keep the 4-bit blocks' scales in float32 instead of quantizing them to 8 bits"),
    ];

    private static string RateText(FineTuneMethod m) => Training.Schedules.RateText.Format(TrainingDefaults.LearningRate(m));

    /// <summary>The LoRA options.</summary>
    public static IReadOnlyList<OptionSpec> Lora { get; } =
    [
        new("lora-r", "N", $"LoRA rank (default {TrainingDefaults.LoraRank})"),
        new("lora-alpha", "X", $"LoRA alpha; updates are scaled by alpha/r (default {TrainingDefaults.LoraAlpha})"),
        new("lora-dropout", "P", $"Dropout on the LoRA input, in [0, 1) (default {TrainingDefaults.LoraDropout})"),
        new("target-modules", "LIST", "Comma list of module names (q_proj,v_proj,...) or all-linear (default)"),
        new("use-rslora", null, "Scale by alpha/sqrt(r) (rank-stabilised LoRA)"),
        new("dora", null, "DoRA: LoRA with a trained magnitude per output row (PEFT's use_dora; also with --method qlora)"),
        new("lora-plus-ratio", "X", "LoRA+: B learns X times faster than A (default 1 = plain LoRA)"),
        new("init-adapter", "DIR", "Start from this PEFT adapter instead of fresh adapters"),
    ];

    /// <summary>The batch and runtime options.</summary>
    public static IReadOnlyList<OptionSpec> Runtime { get; } =
    [
        new("batch-size", "N", $"Sequences per micro-batch (default {TrainingDefaults.BatchSize})"),
        new("seed", "N", $"Seed for adapter init, data order, dropout and the eval split (default {TrainingDefaults.Seed})"),
        new("no-shuffle", null, "Keep the data in file order"),
        ModelArguments.Device,
        new("precision", "P", "fp32 or bf16 (default: fp32 on CPU, bf16 on CUDA)"),
        new("gradient-checkpointing", null, "Recompute activations in backward to save memory"),
    ];

    /// <summary>Checks the shared options; touches only the file system (existence checks).</summary>
    /// <exception cref="UsageException">A path is missing or a value is invalid.</exception>
    public static CommonTrainingSettings Parse(ParsedArguments args)
    {
        ArgumentNullException.ThrowIfNull(args);
        string modelDir = ModelArguments.RequireModelFolder(args.Positional(ModelArguments.ModelDir.Name));
        if (!File.Exists(Path.Combine(modelDir, "tokenizer.json")) && !File.Exists(Path.Combine(modelDir, "tokenizer.model")))
            throw new UsageException($"'{modelDir}' has no tokenizer.json or tokenizer.model, which training needs to read the data; copy the tokenizer files from the model's Hugging Face repository.");
        string data = RequireDataFile(args.Required("data"), "data");
        var task = OptionValues.Choice(args, "task", Tasks) ?? TrainingTask.CausalLm;
        // The model's positions bound the length: an explicit --max-length above them is a usage error
        // now (not a shape error after loading); the default is cut to them.
        int positions = ModelConfig.Load(modelDir).MaxPositionEmbeddings;
        int? givenLength = OptionValues.Int(args, "max-length", 2, 1 << 20);
        if (givenLength > positions && positions > 0)
            throw new UsageException($"--max-length {givenLength} is more than the model's {positions} positions (max_position_embeddings in config.json); use --max-length {positions} or less.");
        int maxLength = givenLength ?? (positions > 0 ? Math.Min(TrainingDefaults.MaxLength, positions) : TrainingDefaults.MaxLength);
        var textFields = OptionValues.List(args, "text-fields");
        string? labelField = args.Option("label-field");
        if (labelField is not null && task != TrainingTask.Classification)
            throw new UsageException("--label-field names the class label, which only --task classification uses; add --task classification or drop --label-field.");
        if (labelField is { Length: 0 }) throw new UsageException("--label-field needs a field name, for example label.");
        int? maxRows = OptionValues.Int(args, "max-rows", 1);

        var d = new TrainerOptions();
        var lora = new LoraSettings
        {
            Rank = OptionValues.Int(args, "lora-r", 1, 4096) ?? d.Lora.Rank,
            Alpha = OptionValues.Double(args, "lora-alpha", 0, minExclusive: true, hint: "2×rank is common") ?? d.Lora.Alpha,
            Dropout = OptionValues.Double(args, "lora-dropout", 0, 1, maxExclusive: true) ?? d.Lora.Dropout,
            TargetModules = TargetModules(args) ?? d.Lora.TargetModules,
            UseRsLora = args.Has("use-rslora"),
            UseDora = args.Has("dora"),
        };
        bool loraGiven = LoraShapeOptions.Any(args.Has);
        string? init = args.Option("init-adapter") is string a ? ModelArguments.RequireAdapterFolder(a) : null;
        if (init is not null && loraGiven)
            throw new UsageException($"--init-adapter brings its own rank, alpha, dropout and target modules (from its adapter_config.json); drop --{LoraShapeOptions.First(args.Has)}.");

        var method = OptionValues.Choice(args, "method", Methods) ?? d.Method;
        if (method == FineTuneMethod.Full && (loraGiven || args.Has("lora-plus-ratio")))
            throw new UsageException($"--{LoraShapeOptions.Concat(["lora-plus-ratio"]).First(args.Has)} shapes LoRA adapters, which --method full does not train (it trains every weight); drop it, or use --method lora.");
        if (method == FineTuneMethod.Full && init is not null)
            throw new UsageException("--init-adapter starts from LoRA adapters, which --method full does not train; merge the adapter into the base first (mlnetlora merge) and fine-tune the merged model, or use --method lora.");

        ulong? seed = OptionValues.ULong(args, "seed");
        var trainer = d with
        {
            Task = task, MaxLength = maxLength, Lora = lora,
            Method = method, FreezeEmbeddings = args.Has("freeze-embeddings"), FreezeLayers = OptionValues.Int(args, "freeze-layers", 0, 1 << 16) ?? 0,
            DoubleQuantization = !args.Has("no-double-quant"),
            LoraPlusRatio = OptionValues.Double(args, "lora-plus-ratio", 0, minExclusive: true, hint: "16 is the LoRA+ paper's suggestion") ?? d.LoraPlusRatio,
            BatchSize = OptionValues.Int(args, "batch-size", 1, 1 << 16) ?? d.BatchSize,
            Seed = seed ?? d.Seed, Shuffle = !args.Has("no-shuffle"),
            Device = ModelArguments.ParseDevice(args.Option("device")), Precision = OptionValues.Choice(args, "precision", Precisions),
            GradientCheckpointing = args.Has("gradient-checkpointing"),
        };
        bool useChat = args.Has("use-chat-template");
        if (useChat && task == TrainingTask.Classification)
            throw new UsageException("--use-chat-template renders conversations for causal-LM training; drop it or --task classification.");
        string? chatTemplate = args.Option("chat-template") is string ct ? RequireTemplateFile(ct) : null;
        return new CommonTrainingSettings(modelDir, data, textFields, labelField ?? "label", maxRows, init, loraGiven, seed is not null, trainer)
        {
            ChatTemplatePath = chatTemplate, UseChatTemplate = useChat,
        };
    }

    /// <summary>The full path of a data file, checked to exist.</summary>
    /// <exception cref="UsageException">The file is missing or is a folder.</exception>
    public static string RequireDataFile(string path, string option)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new UsageException($"--{option} '{full}' is a folder; pass a data file (.txt, .csv, .tsv or .jsonl, optionally .gz).");
        if (!File.Exists(full))
            throw new UsageException($"--{option} file '{full}' does not exist; pass a .txt, .csv, .tsv or .jsonl file (optionally .gz), or fix the path.");
        return full;
    }

    /// <summary>The <c>--chat-template</c> file, checked before anything loads.</summary>
    /// <exception cref="UsageException">It is a folder or does not exist.</exception>
    public static string RequireTemplateFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new UsageException(Directory.Exists(full)
                ? $"--chat-template '{full}' is a folder; pass a Jinja template file (such as a model's chat_template.jinja)."
                : $"--chat-template file '{full}' does not exist; pass a Jinja template file (such as a model's chat_template.jinja), or fix the path.");
        return full;
    }

    private static IReadOnlyList<string>? TargetModules(ParsedArguments args)
    {
        var list = OptionValues.List(args, "target-modules");
        if (list is null) return null;
        if (list.Any(m => m.Equals("all-linear", StringComparison.OrdinalIgnoreCase))) return LoraSettings.AllLinear;
        var unknown = list.Where(m => !LoraSettings.AllLinear.Contains(m)).ToList();
        if (unknown.Count > 0)
            throw new UsageException($"--target-modules: unknown module {string.Join(", ", unknown.Select(u => "'" + u + "'"))}; use all-linear or names from {string.Join(", ", LoraSettings.AllLinear)}.");
        return list;
    }
}
