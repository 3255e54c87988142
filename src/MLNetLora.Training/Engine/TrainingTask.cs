namespace MLNetLora.Training.Engine;

/// <summary>What the trainer learns.</summary>
public enum TrainingTask
{
    /// <summary>Next-token prediction (prompt tokens and padding ignored).</summary>
    CausalLm,

    /// <summary>Sequence classification with a score head on the last real token.</summary>
    Classification,
}
