// Training: the LoRA generation pipeline. With a chat model (SmolLM2-Instruct, Qwen2.5-Instruct, Llama 3.x
// Instruct) set UseChatTemplate = true: prompts become user turns and responses assistant turns of the
// model's own chat template, and generation stops at the end of the assistant's turn.
using Microsoft.ML;
using MLNetLora.ML;

namespace InstructionTuning;

public partial class Answerer
{
    public static IEstimator<ITransformer> BuildPipeline(MLContext mlContext, string modelDir, string outputDir, double? learningRate, bool quick, bool chat) =>
        mlContext.Transforms.LoraTrainer(new LoraGenerationOptions
        {
            ModelPath = modelDir,
            PromptColumnName = "Prompt",         // no loss on the prompt
            ResponseColumnName = "Response",     // the loss is on the response and the EOS that ends it
            OutputColumnName = "Generated",
            UseChatTemplate = chat,
            LearningRate = learningRate,           // null: LoRA's 2e-4, adjusted for the batch
            LoraRank = 16,
            LoraAlpha = 32,
            Epochs = 12,
            MaxSteps = quick ? 3 : null,
            BatchSize = 8,
            MaxLength = 64,
            MaxNewTokens = 16,
            OutputDirectory = outputDir,
        });

    public static ITransformer RetrainModel(MLContext mlContext, IDataView trainData, string modelDir, string outputDir, double? learningRate, bool quick, bool chat) =>
        BuildPipeline(mlContext, modelDir, outputDir, learningRate, quick, chat).Fit(trainData);

    public static void SaveModel(MLContext mlContext, ITransformer model, DataViewSchema schema, string path)
    {
        mlContext.Model.Save(model, schema, path);
        ModelPath = path;
    }
}
