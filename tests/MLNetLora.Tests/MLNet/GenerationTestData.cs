using Microsoft.ML;

namespace MLNetLora.Tests.MLNet;

/// <summary>An instruction-tuning row.</summary>
public sealed class InstructionRow
{
    public string Prompt { get; set; } = "";
    public string Response { get; set; } = "";
}

/// <summary>Prompt-only input, as a consumption program passes it.</summary>
public sealed class PromptRow
{
    public string Prompt { get; set; } = "";
}

/// <summary>Generation output, as a consumption program reads it.</summary>
public sealed class GeneratedRow
{
    public string Generated { get; set; } = "";
}

/// <summary>Four question/answer pairs a tiny model can learn by heart, and the options the generation tests train with.</summary>
internal static class GenerationTestData
{
    public static readonly InstructionRow[] Pairs =
    [
        new() { Prompt = "Question: what colour is the sea?\nAnswer:", Response = " blue" },
        new() { Prompt = "Question: what do whales eat?\nAnswer:", Response = " krill" },
        new() { Prompt = "Question: who steers the ship?\nAnswer:", Response = " the captain" },
        new() { Prompt = "Question: where do sailors sleep?\nAnswer:", Response = " in hammocks" },
    ];

    /// <summary>The pairs repeated <paramref name="copies"/> times.</summary>
    public static List<InstructionRow> Rows(int copies) => Enumerable.Range(0, copies).SelectMany(_ => Pairs).ToList();

    public static MLNetLora.ML.LoraGenerationOptions Options() => new()
    {
        ModelPath = TestPaths.Fixture("llama"),
        LearningRate = 1e-2,
        Epochs = 6,
        BatchSize = 4,
        MaxLength = 32,
        LoraRank = 8,
        LoraAlpha = 16,
        LoraDropout = 0,
        WarmupRatio = 0,
        Seed = 3,
        MaxNewTokens = 6,
    };

    public static IDataView Data(MLContext ml, int copies) => ml.Data.LoadFromEnumerable(Rows(copies));
}
