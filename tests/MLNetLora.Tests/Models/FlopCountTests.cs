using MLNetLora.Models.Transformer;

namespace MLNetLora.Tests.Models;

/// <summary>The LoRA step's FLOP count against sums done by hand for Llama-3.2-1B's shape.</summary>
public class FlopCountTests
{
    // hidden 2048, MLP 8192, 16 layers, 32 query / 8 key-value heads of 64, vocab 128256, tied.
    private static readonly DecoderSpec Llama1B = new(Architecture.Llama, 2048, 8192, 16, 32, 8, 64, 128256, 1e-5,
        TiedEmbeddings: true, QkvBias: false, QkNorm: false, FusedProjections: false, new double[32], 1.0, 4096);

    [Test]
    public void LoraStepPerToken_Llama1B_IsTheHandSum()
    {
        // One layer's weights: q 2048·2048 + k,v 2·2048·512 + o 2048·2048 + MLP 3·2048·8192 = 60,817,408.
        double layer = 2048.0 * 2048 + 2 * 2048.0 * 512 + 2048.0 * 2048 + 3 * 2048.0 * 8192;
        Assert.That(layer, Is.EqualTo(60_817_408));
        double frozen = 16 * layer + 128256.0 * 2048;                     // + the LM head: 1,235,877,888
        double attention = 3 * 16 * 4.0 * 32 * 64 * 1024;                 // forward 2 matmuls, backward twice that
        double lora = 16 * 6.0 * 16 * (4096 + 2560 + 2560 + 4096 + 10240 + 10240 + 10240);   // r = 16 on all seven
        double expected = 4 * frozen + attention + lora;
        Assert.That(FlopCount.LoraStepPerToken(Llama1B, 1024, 16), Is.EqualTo(expected).Within(1e-9).Percent);
        Assert.That(expected / 1e9, Is.EqualTo(5.4).Within(0.05), "the GPU issue's 5.4 GFLOP per token");
    }

    [Test]
    public void ForwardPerToken_IsHalfTheFrozenStepPlusAttention()
    {
        double step = FlopCount.LoraStepPerToken(Llama1B, 1024, 0);
        double forward = FlopCount.ForwardPerToken(Llama1B, 1024);
        double attentionForward = 16 * 4.0 * 32 * 64 * 1024;
        Assert.That(step - 3 * attentionForward, Is.EqualTo(2 * (forward - attentionForward)).Within(1e-9).Percent);
        Assert.Throws<ArgumentOutOfRangeException>(() => FlopCount.LoraStepPerToken(Llama1B, 0, 16));
    }
}
