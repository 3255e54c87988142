namespace MLNetLora.Cli.Commands;

/// <summary>The files compiled into the tool for <c>demo</c> (see Resources/README.md): the BPE tokenizer and the training text.</summary>
public static class DemoResources
{
    /// <summary>Resource name of the training text.</summary>
    public const string Text = "moby-dick-chapters-1-8.txt";

    /// <summary>What the training text is, for the output.</summary>
    public const string TextTitle = "Moby-Dick, chapters 1-8 (Herman Melville, public domain)";

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

    private static Stream Open(string name) =>
        typeof(DemoResources).Assembly.GetManifestResourceStream("MLNetLora.Cli.Resources." + name)
        ?? throw new InvalidOperationException($"The embedded resource '{name}' is missing from the mlnetlora assembly; rebuild the tool.");
}
