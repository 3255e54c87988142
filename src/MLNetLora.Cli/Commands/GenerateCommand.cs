using System.Globalization;
using MLNetLora.Models.Generation;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// <c>mlnetlora generate MODEL_DIR [--adapter DIR] --prompt TEXT [--max-new-tokens N] [--greedy]</c>:
/// continues a prompt with the model (and an optional LoRA adapter), greedily or by sampling.
/// </summary>
public sealed class GenerateCommand : ICliCommand
{
    /// <inheritdoc/>
    public string Name => "generate";

    /// <inheritdoc/>
    public string Summary => "Continue a prompt with the model (greedy or sampled), optionally with a LoRA adapter";

    /// <inheritdoc/>
    public CommandSyntax Syntax { get; } = new(
        [ModelArguments.ModelDir],
        [
            new OptionSpec("prompt", "TEXT", "The text to continue (with --chat: the user's message)", Required: true),
            new OptionSpec("chat", null, "Send the prompt as a user message through the model's chat template and print the reply"),
            new OptionSpec("system", "TEXT", "With --chat: a system message before the user's"),
            new OptionSpec("chat-template", "FILE", "With --chat: a Jinja chat template to use instead of the model's"),
            new OptionSpec("adapter", "DIR", "PEFT LoRA adapter folder to apply"),
            new OptionSpec("max-new-tokens", "N", "Most tokens to generate (default 64)"),
            new OptionSpec("greedy", null, "Always take the most likely token (default: the model's generation_config.json, else greedy)"),
            new OptionSpec("sample", null, "Sample from the distribution (with --temperature, --top-k, --top-p, --seed)"),
            new OptionSpec("temperature", "T", "Sampling temperature (default 1.0)"),
            new OptionSpec("top-k", "K", "Keep the K most likely tokens when sampling (0 = off; default 50)"),
            new OptionSpec("top-p", "P", "Keep the smallest set of tokens whose probability reaches P (default 1.0)"),
            new OptionSpec("seed", "N", "Seed for sampling (default 0)"),
            new OptionSpec("show-ids", null, "Also print the generated token ids"),
            ModelArguments.Device,
            ModelArguments.ComputeDType,
        ]);

    /// <inheritdoc/>
    public int Execute(ParsedArguments args, CliContext context)
    {
        string modelDir = ModelArguments.RequireModelFolder(args.Positional(ModelArguments.ModelDir.Name));
        string? adapter = args.Option("adapter") is string a ? ModelArguments.RequireAdapterFolder(a) : null;
        if (args.Has("greedy") && args.Has("sample")) throw new UsageException("Give either --greedy or --sample, not both.");
        foreach (string flag in new[] { "system", "chat-template" })
            if (args.Has(flag) && !args.Has("chat")) throw new UsageException($"--{flag} shapes a chat prompt; add --chat or drop --{flag}.");
        if (adapter is not null && PeftAdapterIO.ReadConfig(adapter).ModulesToSave.Contains("score"))
            throw new UsageException($"'{adapter}' is a classification adapter (it carries a score head), which scores texts instead of continuing them; " +
                $"run 'mlnetlora predict {args.Positional(ModelArguments.ModelDir.Name)} --adapter {adapter} --text \"...\"'.");
        var device = ModelArguments.ParseDevice(args.Option("device"));
        var dtype = ModelArguments.ParseFloatDType(args.Option("dtype"), "dtype");

        using var pm = PretrainedModel.Load(modelDir, device, dtype);
        if (pm.Tokenizer is null) throw new UsageException($"'{modelDir}' has no tokenizer.json or tokenizer.model, so a text prompt cannot be encoded.");
        if (adapter is not null) PeftAdapterIO.Load(pm.Model, adapter);

        var options = File.Exists(Path.Combine(modelDir, GenerationConfig.FileName)) ? GenerationConfig.Load(modelDir).ToOptions() : GenerationOptions.Greedy(64);
        options = options with
        {
            MaxNewTokens = OptionValues.Int(args, "max-new-tokens", min: 1) ?? options.MaxNewTokens,
            DoSample = args.Has("sample") || (!args.Has("greedy") && options.DoSample),
            Temperature = OptionValues.Double(args, "temperature", min: 0, minExclusive: true) ?? options.Temperature,
            TopK = OptionValues.Int(args, "top-k", min: 0) ?? options.TopK,
            TopP = OptionValues.Double(args, "top-p", min: 0, max: 1, minExclusive: true) ?? options.TopP,
            Seed = OptionValues.ULong(args, "seed") ?? options.Seed,
        };
        if (!options.DoSample)
            foreach (string flag in new[] { "temperature", "top-k", "top-p", "seed" }.Where(args.Has))
                context.Error.WriteLine($"warning: --{flag} applies only when sampling, and this run is greedy; add --sample to use it.");
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message, e);
        }
        var generator = TextGenerator.FromPretrained(pm);
        string prompt = args.Required("prompt");
        bool chat = args.Has("chat");
        if (chat)
        {
            var template = TrainingData.LoadChatTemplate(args.Option("chat-template"), pm.Tokenizer) ?? pm.Tokenizer.ChatTemplate
                ?? throw new UsageException($"--chat: '{modelDir}' has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja); give one with --chat-template FILE, or drop --chat to continue plain text.");
            try
            {
                (prompt, options) = ChatPrompt.Prepare(generator, template, prompt, args.Option("system"), options);
            }
            catch (Models.Templating.TemplateException e)
            {
                throw new UsageException($"--chat: the chat template cannot render this conversation: {e.Message}", e);
            }
        }
        var result = generator.Generate([prompt], options)[0];
        context.Out.WriteLine(chat ? result.Text : prompt + result.Text);
        context.Error.WriteLine($"[{result.NewTokenIds.Count} new tokens, finished by {(result.FinishReason == FinishReason.Stop ? "a stop token" : "the length limit")}, " +
            $"{(options.DoSample ? $"sampled (T={options.Temperature}, top-k={options.TopK}, top-p={options.TopP}, seed={options.Seed})" : "greedy")}]");
        if (args.Has("show-ids"))
            context.Out.WriteLine("ids: " + string.Join(" ", result.TokenIds.Select(i => i.ToString(CultureInfo.InvariantCulture))));
        return CliApp.SuccessExitCode;
    }
}
