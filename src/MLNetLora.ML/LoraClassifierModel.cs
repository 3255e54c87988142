using MLNetLora.LibTorch;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;
using MLNetLora.Models.Tokenization;
using MLNetLora.Training.Data;

namespace MLNetLora.ML;

/// <summary>
/// A base model with its trained adapters and classification head, scoring texts in batches
/// (one forward per batch of rows). Thread-safe: forwards are serialised.
/// </summary>
internal sealed class LoraClassifierModel : IDisposable
{
    private readonly object gate = new();

    public LoraClassifierModel(PretrainedModel pretrained, LoraSettings lora, int batchSize, int maxLength)
    {
        Pretrained = pretrained;
        Tokenizer = pretrained.RequireTokenizer();
        Lora = lora;
        BatchSize = batchSize;
        MaxLength = maxLength;
        PadId = pretrained.PaddingId;
    }

    public PretrainedModel Pretrained { get; }
    public HfTokenizer Tokenizer { get; }
    public LoraSettings Lora { get; }
    public int BatchSize { get; }
    public int MaxLength { get; }
    public int PadId { get; }
    public int NumClasses => Pretrained.Model.ScoreHead?.NumLabels ?? throw new InvalidOperationException("The model has no classification head.");

    /// <summary>Token ids of a text, cut to <see cref="MaxLength"/> (special tokens added as in training).</summary>
    public int[] Encode(string text)
    {
        var ids = Tokenizer.Encode(text, addSpecialTokens: true);
        return ids.Length <= MaxLength ? ids : ids[..MaxLength];
    }

    /// <summary>Class probabilities (softmax of the head's scores) of each text.</summary>
    public float[][] Score(IReadOnlyList<string> texts)
    {
        var result = new float[texts.Count][];
        for (int start = 0; start < texts.Count; start += BatchSize)
        {
            var rows = texts.Skip(start).Take(BatchSize).Select(t => new TrainingExample(Encode(t))).ToList();
            var b = Collator.Collate(rows, PadId, MaxLength);
            float[] probs;
            lock (gate)
            {
                using var scope = TensorScope.Begin();
                var (ids, mask) = b.ToTensors(Pretrained.Model.Device);                    // (B, T), (B, T) or null
                using (var scores = Pretrained.Model.ClassificationScores(ids, mask))      // (B, L)
                using (var p = scores.To(DType.Float32).Softmax(-1))
                using (var cpu = p.To(Device.Cpu))
                    probs = cpu.ToArray<float>();
            }
            int c = probs.Length / b.Size;
            for (int r = 0; r < b.Size; r++) result[start + r] = probs.AsSpan(r * c, c).ToArray();
        }
        return result;
    }

    public void Dispose() => Pretrained.Dispose();
}
