// Consumption: what an application keeps after training. Predict loads the saved zip once and scores one
// e-mail per call with a PredictionEngine, as the code Model Builder generates does.
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetLora.ML;

namespace SpamClassifier;

public partial class SpamClassifier
{
    /// <summary>One row of the training file (samples/data/spam.tsv).</summary>
    public class ModelInput
    {
        [LoadColumn(0)]
        [ColumnName("Label")]
        public string Label { get; set; } = "";

        [LoadColumn(1)]
        [ColumnName("Text")]
        public string Text { get; set; } = "";
    }

    /// <summary>What the model returns for a row.</summary>
    public class ModelOutput
    {
        [ColumnName("PredictedText")]
        public string PredictedLabel { get; set; } = "";

        /// <summary>Probability of each class, in the order of <see cref="ClassNames"/>.</summary>
        public float[] Score { get; set; } = [];
    }

    public static string ModelPath { get; set; } = Path.GetFullPath("SpamClassifier.zip");

    private static readonly Lazy<PredictionEngine<ModelInput, ModelOutput>> PredictEngine = new(CreatePredictEngine, isThreadSafe: true);

    /// <summary>Classifies one e-mail ("ham" or "spam").</summary>
    public static ModelOutput Predict(ModelInput input) => PredictEngine.Value.Predict(input);

    private static PredictionEngine<ModelInput, ModelOutput> CreatePredictEngine()
    {
        var mlContext = new MLContext();
        MLNetLoraCatalog.Register(mlContext);        // lets Model.Load find the LoRA transformer
        ITransformer mlModel = mlContext.Model.Load(ModelPath, out _);
        return mlContext.Model.CreatePredictionEngine<ModelInput, ModelOutput>(mlModel);
    }
}
