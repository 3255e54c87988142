// Training: the pipeline, training it, and saving it. Model Builder regenerates this file; edit freely.
using Microsoft.ML;
using MLNetLora.ML;

namespace SpamClassifier;

public partial class SpamClassifier
{
    /// <summary>Text → key label → LoRA fine-tuned classifier → readable predicted label.</summary>
    public static IEstimator<ITransformer> BuildPipeline(MLContext mlContext, string modelDir, string outputDir, double? learningRate, bool quick) =>
        mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.Transforms.LoraTrainer(new LoraClassificationOptions
            {
                ModelPath = modelDir,           // a Hugging Face folder: config.json, model.safetensors, tokenizer.json
                TextColumnName = "Text",
                LabelColumnName = "Label",
                // null: LoRA's 2e-4, adjusted for the batch (the log says which rate and why).
                LearningRate = learningRate,
                Epochs = 5,
                MaxSteps = quick ? 3 : null,
                BatchSize = 16,
                MaxLength = 128,
                OutputDirectory = outputDir,    // metrics.jsonl, checkpoints and the adapter of the run
            }))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedText", "PredictedLabel"));

    /// <summary>Trains on <paramref name="trainData"/>.</summary>
    public static ITransformer RetrainModel(MLContext mlContext, IDataView trainData, string modelDir, string outputDir, double? learningRate, bool quick) =>
        BuildPipeline(mlContext, modelDir, outputDir, learningRate, quick).Fit(trainData);

    /// <summary>Saves the model (base weights included) where <see cref="Predict"/> loads it from.</summary>
    public static void SaveModel(MLContext mlContext, ITransformer model, DataViewSchema schema, string path)
    {
        mlContext.Model.Save(model, schema, path);
        ModelPath = path;
    }
}
