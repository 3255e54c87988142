namespace MLNetLora.Training.Engine;

/// <summary>What an evaluation means for early stopping.</summary>
internal enum EvalVerdict
{
    /// <summary>The best loss so far (the best adapter is saved).</summary>
    Improved,

    /// <summary>Not better than the best; patience not yet used up (or early stopping is off).</summary>
    NoImprovement,

    /// <summary>Patience used up: stop.</summary>
    Stop,
}

/// <summary>Early stopping as a pure function of the loop state: patience counts evaluations that did not beat the best loss.</summary>
internal static class EarlyStopping
{
    public static (TrainerState State, EvalVerdict Verdict) Observe(TrainerState s, double evalLoss, int patience)
    {
        if (s.BestEvalLoss is null || evalLoss < s.BestEvalLoss)
            return (s with { BestEvalLoss = evalLoss, EvalsWithoutImprovement = 0 }, EvalVerdict.Improved);
        if (patience <= 0) return (s, EvalVerdict.NoImprovement);
        var next = s with { EvalsWithoutImprovement = s.EvalsWithoutImprovement + 1 };
        return (next, next.EvalsWithoutImprovement >= patience ? EvalVerdict.Stop : EvalVerdict.NoImprovement);
    }
}
