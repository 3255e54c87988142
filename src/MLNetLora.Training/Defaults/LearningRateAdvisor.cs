using System.Globalization;
using System.Text;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Training.Defaults;

/// <summary>
/// Picks the starting rate for a run from the method's default and the run's batch size, and explains
/// how the LoRA rank and alpha change the size of each update.
/// </summary>
/// <remarks>
/// The batch adjustment is square-root scaling: the rate grows with the square root of the effective
/// batch relative to <see cref="TrainingDefaults.ReferenceBatchSequences"/> sequences, which keeps the
/// noise in each Adam update roughly constant. It is capped at <see cref="TrainingDefaults.MaxBatchScale"/>
/// either way because the rule is a rough fit and far from the reference it overshoots. The adapter
/// scale (alpha/r, or alpha/sqrt(r) for rsLoRA) multiplies every adapter update just like the rate does,
/// but the advisor does not compensate for it: users pick alpha to set exactly that, and changing the
/// rate as well would count the choice twice. It says what the scale implies instead.
/// </remarks>
public static class LearningRateAdvisor
{
    /// <summary>Chooses the peak rate for a run and explains the choice.</summary>
    /// <param name="method">What is trained.</param>
    /// <param name="effectiveBatch">Sequences or tokens per optimizer step, after accumulation and across devices.</param>
    /// <param name="loraRank">The adapter rank r (ignored for full fine-tuning).</param>
    /// <param name="loraAlpha">The adapter alpha (ignored for full fine-tuning).</param>
    /// <param name="useRsLora">Whether the adapter uses rank-stabilized scaling alpha/sqrt(r).</param>
    /// <returns>The rate and its explanation.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An unknown method, an empty batch, or a non-positive rank or alpha for an adapter method.</exception>
    public static LearningRateRecommendation Recommend(
        FineTuneMethod method,
        BatchSize effectiveBatch,
        int loraRank = TrainingDefaults.ReferenceLoraRank,
        double loraAlpha = TrainingDefaults.ReferenceLoraAlpha,
        bool useRsLora = false)
    {
        double baseRate = TrainingDefaults.LearningRate(method);
        if (effectiveBatch.Count <= 0) throw new ArgumentOutOfRangeException(nameof(effectiveBatch), "The batch size must be positive.");
        bool adapter = method != FineTuneMethod.Full;
        if (adapter)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(loraRank);
            if (!(loraAlpha > 0) || !double.IsFinite(loraAlpha))
                throw new ArgumentOutOfRangeException(nameof(loraAlpha), loraAlpha, "LoRA alpha must be a positive number.");
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{MethodName(method)} default {RateText.Format(baseRate)}");
        text.Append(method == FineTuneMethod.Full
            ? " (full fine-tuning moves every weight, so it uses rates 10-20x below adapter rates to avoid forgetting)."
            : " (the usual starting point for adapters on Llama/Mistral-class models).");

        double batchScale = BatchScale(effectiveBatch, text);
        double rate = baseRate * batchScale;

        double? adapterScale = null;
        if (adapter) adapterScale = DescribeAdapter(loraRank, loraAlpha, useRsLora, rate, text);

        text.Insert(0, $"learning rate {RateText.Format(rate)}: ");
        return new LearningRateRecommendation
        {
            Rate = rate,
            DefaultRate = baseRate,
            BatchScale = batchScale,
            AdapterScale = adapterScale,
            Explanation = text.ToString(),
        };
    }

    private static double BatchScale(BatchSize batch, StringBuilder text)
    {
        double reference = batch.Unit == BatchUnit.Tokens
            ? (double)TrainingDefaults.ReferenceBatchSequences * TrainingDefaults.ReferenceSequenceLength
            : TrainingDefaults.ReferenceBatchSequences;
        string referenceText = batch.Unit == BatchUnit.Tokens
            ? FormattableString.Invariant($"{reference:N0} tokens ({TrainingDefaults.ReferenceBatchSequences} sequences of {TrainingDefaults.ReferenceSequenceLength})")
            : FormattableString.Invariant($"{reference:N0} sequences");
        double ratio = batch.Count / reference;
        if (ratio == 1)
        {
            text.Append(CultureInfo.InvariantCulture, $" The batch of {batch} matches the reference, so the rate is not scaled.");
            return 1.0;
        }
        double raw = Math.Sqrt(ratio);
        double scale = Math.Clamp(raw, 1.0 / TrainingDefaults.MaxBatchScale, TrainingDefaults.MaxBatchScale);
        string relation = ratio > 1 ? $"{Num(ratio)}x the" : $"1/{Num(1 / ratio)} of the";
        text.Append(CultureInfo.InvariantCulture, $" The effective batch of {batch} is {relation} reference {referenceText}; ");
        text.Append(CultureInfo.InvariantCulture, $"square-root scaling multiplies the rate by sqrt({Num(ratio)}) = {Num(raw)}");
        if (scale != raw)
            text.Append(CultureInfo.InvariantCulture, $", capped at {Num(scale)} because the rule is unreliable that far from the reference");
        text.Append('.');
        return scale;
    }

    private static double DescribeAdapter(int rank, double alpha, bool rsLora, double rate, StringBuilder text)
    {
        double referenceScale = TrainingDefaults.ReferenceLoraAlpha / TrainingDefaults.ReferenceLoraRank;
        double scale = rsLora ? alpha / Math.Sqrt(rank) : alpha / rank;
        string formula = rsLora
            ? $"rsLoRA scale alpha/sqrt(r) = {Num(alpha)}/sqrt({rank}) = {Num(scale)}"
            : $"LoRA scale alpha/r = {Num(alpha)}/{rank} = {Num(scale)}";
        string reference = FormattableString.Invariant(
            $"the reference {Num(referenceScale)} (plain LoRA, r={TrainingDefaults.ReferenceLoraRank}, alpha={Num(TrainingDefaults.ReferenceLoraAlpha)})");

        if (scale == referenceScale)
        {
            if (rank != TrainingDefaults.ReferenceLoraRank)
                text.Append(CultureInfo.InvariantCulture, $" Rank {rank} differs from the reference {TrainingDefaults.ReferenceLoraRank}, but the {formula} equals {reference}, so each update has the reference size.");
            return scale;
        }

        double relative = scale / referenceScale;
        string size = relative > 1 ? $"{Num(relative)}x larger" : $"{Num(1 / relative)}x smaller";
        text.Append(CultureInfo.InvariantCulture, $" The {formula} differs from {reference}: every adapter update is about {size} than at the reference, ");
        text.Append(CultureInfo.InvariantCulture, $"as if the rate were {RateText.Format(rate * relative)} there. The rate is left as is because alpha is what sets this; ");
        text.Append(relative > 1
            ? FormattableString.Invariant($"if the loss spikes, lower Lora.Alpha or LearningRate (to about {RateText.Round(rate / relative)} for reference-size updates).")
            : FormattableString.Invariant($"if the loss stays flat, raise Lora.Alpha or LearningRate (to about {RateText.Round(rate / relative)} for reference-size updates)."));
        return scale;
    }

    private static string MethodName(FineTuneMethod method) => method switch
    {
        FineTuneMethod.Lora => "LoRA",
        FineTuneMethod.QLora => "QLoRA",
        _ => "full fine-tuning",
    };

    private static string Num(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
}
