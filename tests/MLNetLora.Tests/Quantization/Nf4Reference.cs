using System.Text.Json.Nodes;

namespace MLNetLora.Tests.Quantization;

/// <summary>tests/fixtures/nf4/reference.json, written by tools/fixtures/nf4_reference.py (bitsandbytes' algorithm in numpy).</summary>
internal static class Nf4Reference
{
    public static JsonNode Document { get; } =
        JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "fixtures", "nf4", "reference.json")))!;

    public static float[] Floats(JsonNode base64) => Floats((string)base64!);

    public static float[] Floats(string base64)
    {
        var bytes = Convert.FromBase64String(base64);
        var r = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, r, 0, bytes.Length);
        return r;
    }

    public static byte[] Hex(JsonNode hex) => Convert.FromHexString((string)hex!);
}
