namespace MLNetLora.Tests.Templating;

/// <summary>A copy of the tiny Llama fixture with a ChatML-style chat template over its own special tokens.</summary>
internal static class ChatFolder
{
    /// <summary>Turns open with &lt;|bos|&gt;role and close with &lt;|eos|&gt; (the fixture's only specials).</summary>
    public const string Template =
        "{% for message in messages %}{{ '<|bos|>' + message['role'] + '\\n' + message['content'] + '<|eos|>' + '\\n' }}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|bos|>assistant\\n' }}{% endif %}";

    public static string Create(bool asJinjaFile = true)
    {
        string dir = TestPaths.NewTempDir();
        foreach (string f in Directory.GetFiles(TestPaths.Fixture("llama")))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        if (asJinjaFile) File.WriteAllText(Path.Combine(dir, "chat_template.jinja"), Template);
        return dir;
    }
}
