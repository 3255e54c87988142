using MLNetLora.Training.Defaults;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Tests.Training;

/// <summary>The default settings and the rate advisor's batch scaling and adapter-scale explanations.</summary>
public class LearningRateAdvisorTests
{
    [Test]
    public void TrainingDefaults_Values_MatchTheDocumentedChoices()
    {
        Assert.Multiple(() =>
        {
            Assert.That(TrainingDefaults.LearningRate(FineTuneMethod.Lora), Is.EqualTo(2e-4));
            Assert.That(TrainingDefaults.LearningRate(FineTuneMethod.QLora), Is.EqualTo(2e-4));
            Assert.That(TrainingDefaults.LearningRate(FineTuneMethod.Full), Is.EqualTo(1e-5));
            Assert.That(TrainingDefaults.Scheduler, Is.EqualTo(ScheduleKind.Cosine));
            Assert.That(TrainingDefaults.WarmupRatio, Is.InRange(0.03, 0.1));
            Assert.That(TrainingDefaults.MaxGradNorm, Is.EqualTo(1.0));
            Assert.That(TrainingDefaults.WeightDecay, Is.Zero);
            Assert.That((TrainingDefaults.AdamBeta1, TrainingDefaults.AdamBeta2, TrainingDefaults.AdamEpsilon), Is.EqualTo((0.9, 0.999, 1e-8)));
            foreach (var m in Enum.GetValues<FineTuneMethod>())
                Assert.That(TrainingDefaults.MaxSuggestedRate(m), Is.GreaterThan(TrainingDefaults.LearningRate(m)), m.ToString());
        });
    }

    [Test]
    public void Schedule_DefaultRun_IsCosineWithRatioWarmup()
    {
        var s = LearningRateSchedules.Create(TrainingDefaults.Schedule(FineTuneMethod.QLora, 400));
        Assert.That(s.Options.Kind, Is.EqualTo(ScheduleKind.Cosine));
        Assert.That(s.Options.WarmupSteps, Is.EqualTo((long)Math.Ceiling(400 * TrainingDefaults.WarmupRatio)));
        Assert.That(s.LearningRate(s.Options.WarmupSteps!.Value), Is.EqualTo(2e-4));
    }

    [Test]
    public void Recommend_ReferenceRun_KeepsDefaultAndSaysSo()
    {
        var r = LearningRateAdvisor.Recommend(FineTuneMethod.Lora, BatchSize.OfSequences(16), 16, 16);
        Assert.That(r.Rate, Is.EqualTo(2e-4));
        Assert.That(r.BatchScale, Is.EqualTo(1.0));
        Assert.That(r.AdapterScale, Is.EqualTo(1.0));
        Assert.That(r.Explanation, Does.StartWith("learning rate 2e-4: LoRA default 2e-4").And.Contain("matches the reference"));
    }

    [TestCase(64, 2.0)]
    [TestCase(4, 0.5)]
    [TestCase(32, 1.4142135623730951)]
    public void Recommend_BatchWithinCap_ScalesBySquareRoot(int sequences, double expectedScale)
    {
        var r = LearningRateAdvisor.Recommend(FineTuneMethod.Lora, BatchSize.OfSequences(sequences));
        Assert.That(r.BatchScale, Is.EqualTo(Math.Sqrt(sequences / 16.0)).Within(1e-12));
        Assert.That(r.BatchScale, Is.EqualTo(expectedScale).Within(1e-12));
        Assert.That(r.Rate, Is.EqualTo(2e-4 * r.BatchScale).Within(1e-10).Percent);
        Assert.That(r.Explanation, Does.Contain("square-root scaling").And.Contain("reference 16 sequences").And.Not.Contain("capped"));
    }

    [TestCase(256, 2.0)]
    [TestCase(1, 0.5)]
    public void Recommend_BatchFarFromReference_CapsAtFactorTwo(int sequences, double expectedScale)
    {
        var r = LearningRateAdvisor.Recommend(FineTuneMethod.Lora, BatchSize.OfSequences(sequences));
        Assert.That(Math.Sqrt(sequences / 16.0), Is.Not.InRange(0.5, 2.0), "the uncapped rule would leave the range");
        Assert.That(r.BatchScale, Is.EqualTo(expectedScale));
        Assert.That(r.Explanation, Does.Contain("capped at"));
    }

    [Test]
    public void Recommend_TokenBatch_ComparesWithReferenceTokens()
    {
        long reference = TrainingDefaults.ReferenceBatchSequences * TrainingDefaults.ReferenceSequenceLength;
        var r = LearningRateAdvisor.Recommend(FineTuneMethod.QLora, BatchSize.OfTokens(reference * 2));
        Assert.That(r.BatchScale, Is.EqualTo(Math.Sqrt(2)).Within(1e-12));
        Assert.That(r.Explanation, Does.Contain("16,384 tokens").And.Contain("8,192 tokens").And.Contain("QLoRA default"));
    }

    [Test]
    public void Recommend_FullFineTuning_IgnoresAdapter()
    {
        var r = LearningRateAdvisor.Recommend(FineTuneMethod.Full, BatchSize.OfSequences(16), loraRank: 0, loraAlpha: 0);
        Assert.That(r.Rate, Is.EqualTo(1e-5));
        Assert.That(r.AdapterScale, Is.Null);
        Assert.That(r.Explanation, Does.Contain("full fine-tuning").And.Not.Contain("alpha"));
    }

    [Test]
    public void Recommend_LargeAlphaOverRank_ExplainsBiggerUpdatesWithoutChangingRate()
    {
        var r = LearningRateAdvisor.Recommend(FineTuneMethod.Lora, BatchSize.OfSequences(16), loraRank: 8, loraAlpha: 32);
        Assert.That(r.Rate, Is.EqualTo(2e-4), "alpha/r is reported, not compensated");
        Assert.That(r.AdapterScale, Is.EqualTo(32.0 / 8));
        Assert.That(r.Explanation, Does.Contain("alpha/r = 32/8 = 4").And.Contain("4x larger").And.Contain("as if the rate were 8e-4")
            .And.Contain("lower Lora.Alpha or LearningRate (to about 5e-5"));
    }

    [Test]
    public void Recommend_SmallAlphaOverRank_SuggestsRaisingAlphaIfFlat()
    {
        var r = LearningRateAdvisor.Recommend(FineTuneMethod.QLora, BatchSize.OfSequences(16), loraRank: 64, loraAlpha: 16);
        Assert.That(r.AdapterScale, Is.EqualTo(0.25));
        Assert.That(r.Explanation, Does.Contain("4x smaller").And.Contain("raise Lora.Alpha or LearningRate"));
    }

    [Test]
    public void Recommend_RsLora_UsesSquareRootOfRank()
    {
        var r = LearningRateAdvisor.Recommend(FineTuneMethod.Lora, BatchSize.OfSequences(16), loraRank: 64, loraAlpha: 16, useRsLora: true);
        Assert.That(r.AdapterScale, Is.EqualTo(16 / Math.Sqrt(64)));
        Assert.That(r.Explanation, Does.Contain("rsLoRA scale alpha/sqrt(r) = 16/sqrt(64) = 2").And.Contain("2x larger"));
    }

    [Test]
    public void Recommend_DifferentRankSameScale_MentionsRankOnly()
    {
        var r = LearningRateAdvisor.Recommend(FineTuneMethod.Lora, BatchSize.OfSequences(16), loraRank: 64, loraAlpha: 64);
        Assert.That(r.Explanation, Does.Contain("Rank 64 differs from the reference 16").And.Contain("reference size"));
    }

    [Test]
    public void Recommend_InvalidAdapterOrBatch_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateAdvisor.Recommend(FineTuneMethod.Lora, BatchSize.OfSequences(16), loraRank: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateAdvisor.Recommend(FineTuneMethod.Lora, default));
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchSize.OfTokens(0));
    }
}
