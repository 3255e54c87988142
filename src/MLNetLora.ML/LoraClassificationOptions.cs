using MLNetLora.Training.Engine;

namespace MLNetLora.ML;

/// <summary>
/// Options of <see cref="LoraClassificationEstimator"/>: LoRA fine-tuning of a Hugging Face decoder
/// model (Llama family) with a sequence-classification head, inside an ML.NET pipeline. Column names
/// here; the learning setup is inherited from <see cref="LoraTrainingOptions"/>.
/// </summary>
public sealed class LoraClassificationOptions : LoraTrainingOptions
{
    /// <summary>Options with every learning setting at the training layer's default.</summary>
    public LoraClassificationOptions() : base(TrainingTask.Classification) { }

    /// <summary>Input text column (type Text). Default "Text".</summary>
    public string TextColumnName = "Text";

    /// <summary>
    /// Optional second text column for sentence-pair tasks (entailment, paraphrase), as in
    /// Microsoft.ML.TorchSharp. The two texts are joined as the tokenizer's pair template joins them
    /// (Hugging Face's <c>tokenizer(text, text_pair)</c>). Null: single texts.
    /// </summary>
    public string? Sentence2ColumnName;

    /// <summary>Label column; it must be a key type (use <c>mlContext.Transforms.Conversion.MapValueToKey</c>). Default "Label".</summary>
    public string LabelColumnName = "Label";

    /// <summary>Output column of class probabilities (vector of Single, one per class). Default "Score".</summary>
    public string ScoreColumnName = "Score";

    /// <summary>Output column of the predicted class (same key type as the label). Default "PredictedLabel".</summary>
    public string PredictedLabelColumnName = "PredictedLabel";
}
