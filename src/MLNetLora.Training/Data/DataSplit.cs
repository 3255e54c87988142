using MLNetLora.LibTorch;

namespace MLNetLora.Training.Data;

/// <summary>Holds out part of the training examples for evaluation, the same way for every front end.</summary>
public static class DataSplit
{
    /// <summary>
    /// A deterministic split: a permutation drawn from <paramref name="seed"/> picks the held-out rows,
    /// and both sides keep their original order, so the same seed and fraction always give the same split.
    /// </summary>
    /// <param name="rows">The examples.</param>
    /// <param name="fraction">Share held out, in (0, 1) (<c>TrainerOptions.EvalSplit</c>).</param>
    /// <param name="seed">The run seed.</param>
    /// <returns>The training and the evaluation examples.</returns>
    /// <exception cref="ArgumentException">One side would be empty (the message names <c>EvalSplit</c>).</exception>
    public static (List<TrainingExample> Train, List<TrainingExample> Eval) Split(IReadOnlyList<TrainingExample> rows, double fraction, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int held = (int)Math.Round(rows.Count * fraction);
        if (held < 1 || held >= rows.Count)
            throw new Engine.TrainerOptionException("EvalSplit", $"EvalSplit {fraction} of {rows.Count} examples leaves {(held < 1 ? "no evaluation" : "no training")} examples; " +
                "use a fraction such as 0.1 on more data, or give evaluation data.");
        // An offset keeps this stream apart from the data-order generator, which is seeded from the same seed.
        var perm = new Generator(unchecked(seed + 0x9E3779B97F4A7C15UL)).Permutation(rows.Count);
        var isEval = new bool[rows.Count];
        foreach (int i in perm.Take(held)) isEval[i] = true;
        var train = new List<TrainingExample>(rows.Count - held);
        var eval = new List<TrainingExample>(held);
        for (int i = 0; i < rows.Count; i++) (isEval[i] ? eval : train).Add(rows[i]);
        return (train, eval);
    }
}
