using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetLora.Tests.MLNet;

/// <summary>One input row: a string label and a text.</summary>
public sealed class TextRow
{
    public string Label { get; set; } = "";
    public string Text { get; set; } = "";
}

/// <summary>A tiny separable text set (sea words vs spam words) and the options the MLNet tests train with.</summary>
internal static class MLNetTestData
{
    private static readonly string[] Sea = ["whale", "sea", "ship", "ocean", "wave", "sailor", "harbor", "tide"];
    private static readonly string[] Spam = ["money", "offer", "click", "free", "prize", "cash", "winner", "deal"];

    /// <summary><paramref name="count"/> rows alternating "sea" and "spam", each 6 words drawn from its class's vocabulary.</summary>
    public static List<TextRow> Rows(int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(i =>
        {
            var words = i % 2 == 0 ? Sea : Spam;
            return new TextRow { Label = i % 2 == 0 ? "sea" : "spam", Text = string.Join(' ', Enumerable.Range(0, 6).Select(_ => words[rng.Next(words.Length)])) };
        }).ToList();
    }

    public static MLNetLora.ML.LoraClassificationOptions Options() => new()
    {
        ModelPath = TestPaths.Fixture("llama"),
        LearningRate = 3e-3,
        Epochs = 4,
        BatchSize = 8,
        MaxLength = 32,
        LoraRank = 4,
        LoraAlpha = 8,
        LoraDropout = 0,
        TargetModules = ["q_proj", "v_proj"],
        Seed = 7,
    };

    /// <summary>MapValueToKey("Label") then the LoRA trainer.</summary>
    public static EstimatorChain<MLNetLora.ML.LoraClassificationTransformer> Pipeline(MLContext ml, MLNetLora.ML.LoraClassificationOptions options) =>
        ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(MLNetLora.ML.MLNetLoraCatalog.LoraTrainer(ml.Transforms, options));
}
