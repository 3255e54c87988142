using System.Text.Json;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Tests.Cli;

public class InspectCommandTests
{
    private static readonly string Llama = TestPaths.Fixture("llama");

    // Counted straight from the safetensors header, independently of the command's own reading.
    private static long ExpectedParameterCount()
    {
        using var file = SafeTensorsFile.Open(Path.Combine(Llama, "model.safetensors"));
        return file.Tensors.Sum(t => t.Shape.Aggregate(1L, (a, d) => a * d));
    }

    [Test]
    public void Inspect_Json_ReportsConfigSizesAndParameterCount()
    {
        var r = CliRun.Run("inspect", Llama, "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("model_type").GetString(), Is.EqualTo("llama"));
            Assert.That(root.GetProperty("architectures")[0].GetString(), Is.EqualTo("LlamaForCausalLM"));
            Assert.That(root.GetProperty("num_hidden_layers").GetInt32(), Is.EqualTo(2));
            Assert.That(root.GetProperty("hidden_size").GetInt32(), Is.EqualTo(64));
            Assert.That(root.GetProperty("vocab_size").GetInt32(), Is.EqualTo(2048));
            Assert.That(root.GetProperty("num_attention_heads").GetInt32(), Is.EqualTo(4));
            Assert.That(root.GetProperty("num_key_value_heads").GetInt32(), Is.EqualTo(2));
            Assert.That(root.GetProperty("head_dim").GetInt32(), Is.EqualTo(16));
            Assert.That(root.GetProperty("intermediate_size").GetInt32(), Is.EqualTo(160));
            Assert.That(root.GetProperty("max_position_embeddings").GetInt32(), Is.EqualTo(512));
            Assert.That(root.GetProperty("tie_word_embeddings").GetBoolean(), Is.False);
            Assert.That(root.GetProperty("rope").GetProperty("type").GetString(), Is.EqualTo("default"));
            Assert.That(root.GetProperty("rope").GetProperty("theta").GetDouble(), Is.EqualTo(10000));
            Assert.That(root.GetProperty("parameter_count").GetInt64(), Is.EqualTo(ExpectedParameterCount()));
            Assert.That(root.GetProperty("stored_dtypes").GetProperty("F32").GetInt64(), Is.EqualTo(ExpectedParameterCount()));
        });
    }

    [Test]
    public void Inspect_Json_ReportsTokenizerKindAndSpecialTokens()
    {
        var r = CliRun.Run("inspect", Llama, "--json");
        using var doc = JsonDocument.Parse(r.Out);
        var tok = doc.RootElement.GetProperty("tokenizer");
        Assert.Multiple(() =>
        {
            Assert.That(tok.GetProperty("kind").GetString(), Does.StartWith("byte-level BPE"));
            Assert.That(tok.GetProperty("bos").GetProperty("id").GetInt32(), Is.EqualTo(0));
            Assert.That(tok.GetProperty("eos").GetProperty("token").GetString(), Is.EqualTo("<|eos|>"));
            Assert.That(tok.GetProperty("special_tokens").GetArrayLength(), Is.EqualTo(3));
        });
    }

    [Test]
    public void Inspect_Nf4_ReportsMemoryAgainstBf16AndTheLogitsError()
    {
        var r = CliRun.Run("inspect", Llama, "--nf4", "--text", "Call me Ishmael.");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        // 2 layers × (q 64·64, k and v 64·32, o 64·64, gate, up and down 64·160): 86,016 weights in 4-bit blocks.
        Assert.That(r.Out, Does.Contain("NF4: 86,016 weights in"));
        Assert.That(r.Out, Does.Match(@"logits vs unquantized: max \|Δ\| [\d.]+, mean \|Δ\| [\d.]+, mean relative [\d.]+ %, top-1 agreement [\d.]+ % \(\d+ tokens"));
        var bad = CliRun.Run("inspect", Llama, "--text", "x");
        Assert.That(bad.ExitCode, Is.EqualTo(2));
        Assert.That(bad.Error, Does.Contain("--text only applies with --nf4"));
    }

    [Test]
    public void Inspect_Table_ShowsSizesAndParameterCount()
    {
        var r = CliRun.Run("inspect", Llama);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Does.Match(@"layers\s+│ 2\s"));
        Assert.That(r.Out, Does.Match(@"hidden size\s+│ 64\s"));
        Assert.That(r.Out, Does.Match(@"vocab size\s+│ 2,048\s"));
        Assert.That(r.Out, Does.Contain(ExpectedParameterCount().ToString("N0", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(r.Out, Does.Not.Contain("\u001b["), "redirected output must carry no ANSI escape codes");
    }

    [Test]
    public void Inspect_FolderWithoutTokenizer_ReportsNone()
    {
        string dir = TestPaths.NewTempDir();
        File.Copy(Path.Combine(Llama, "config.json"), Path.Combine(dir, "config.json"));
        File.Copy(Path.Combine(Llama, "model.safetensors"), Path.Combine(dir, "model.safetensors"));
        var r = CliRun.Run("inspect", dir);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Does.Contain("none (no tokenizer.json or tokenizer.model)"));
    }
}
