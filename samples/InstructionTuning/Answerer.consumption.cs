// Consumption: load the saved zip once, then answer one prompt per call with a PredictionEngine.
using Microsoft.ML;
using MLNetLora.ML;

namespace InstructionTuning;

public partial class Answerer
{
    /// <summary>A training row: the prompt and the response the model should learn to give.</summary>
    public class ModelInput
    {
        public string Prompt { get; set; } = "";
        public string Response { get; set; } = "";
    }

    /// <summary>What an application passes when asking: the prompt only.</summary>
    public class PromptInput
    {
        public string Prompt { get; set; } = "";
    }

    /// <summary>The generated continuation (without the prompt).</summary>
    public class ModelOutput
    {
        public string Generated { get; set; } = "";
    }

    public static string ModelPath { get; set; } = Path.GetFullPath("Answerer.zip");

    private static readonly Lazy<PredictionEngine<PromptInput, ModelOutput>> PredictEngine = new(CreatePredictEngine, isThreadSafe: true);

    /// <summary>Answers one prompt (greedy decoding, as set at training time; see Answerer.training.cs).</summary>
    public static ModelOutput Predict(PromptInput input) => PredictEngine.Value.Predict(input);

    private static PredictionEngine<PromptInput, ModelOutput> CreatePredictEngine()
    {
        var mlContext = new MLContext();
        MLNetLoraCatalog.Register(mlContext);
        ITransformer mlModel = mlContext.Model.Load(ModelPath, out _);
        return mlContext.Model.CreatePredictionEngine<PromptInput, ModelOutput>(mlModel);
    }
}
