namespace MLNetLora.Training.Defaults;

/// <summary>What is being trained; the defaults for the rate depend on it.</summary>
public enum FineTuneMethod
{
    /// <summary>Low-rank adapters on a frozen base model in full or half precision.</summary>
    Lora,

    /// <summary>Low-rank adapters on a frozen, 4-bit quantized base model.</summary>
    QLora,

    /// <summary>Every weight of the model is trained.</summary>
    Full,
}
