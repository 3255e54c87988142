namespace MLNetLora.Cli.Commands;

/// <summary>The files compiled into the tool for <c>demo</c> (see Resources/README.md): the BPE tokenizer and the training text.</summary>
public static class DemoResources
{
    /// <summary>The e-mails of the classification part (subject and body start, label ham or spam).</summary>
    public const string SpamMail = "spam-subset.jsonl";

    /// <summary>The question/answer pairs of the generation part.</summary>
    public const string Questions = "moby-dick-qa.jsonl";

    /// <summary>The pretrained weights of the base model.</summary>
    public const string Weights = "demo-model.safetensors";

    /// <summary>The tokenizer files, written into a model folder.</summary>
    public static IReadOnlyList<string> TokenizerFiles { get; } = ["tokenizer.json", "tokenizer_config.json"];

    /// <summary>The text of an embedded resource.</summary>
    /// <exception cref="InvalidOperationException">The resource is missing (a broken build).</exception>
    public static string ReadText(string name)
    {
        using var stream = Open(name);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Writes the tokenizer files into <paramref name="directory"/>.</summary>
    public static void WriteTokenizer(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (string name in TokenizerFiles)
        {
            using var stream = Open(name);
            using var file = File.Create(Path.Combine(directory, name));
            stream.CopyTo(file);
        }
    }

    /// <summary>Writes an embedded resource to <paramref name="path"/>.</summary>
    public static void WriteFile(string name, string path)
    {
        using var stream = Open(name);
        using var file = File.Create(path);
        stream.CopyTo(file);
    }

    /// <summary>The JSON objects of an embedded JSONL resource.</summary>
    public static IEnumerable<System.Text.Json.JsonElement> ReadJsonLines(string name) =>
        ReadText(name).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.Clone());

    private static Stream Open(string name) =>
        typeof(DemoResources).Assembly.GetManifestResourceStream("MLNetLora.Cli.Resources." + name)
        ?? throw new InvalidOperationException($"The embedded resource '{name}' is missing from the mlnetlora assembly; rebuild the tool.");
}
