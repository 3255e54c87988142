using MLNetLora.LibTorch;

namespace MLNetLora.Training.Engine;

/// <summary>
/// The independent random streams one run seed drives. Keeping them apart means adding, say, a
/// classification head does not change the LoRA initialisation or the dropout masks of a run.
/// </summary>
public static class SeedStreams
{
    /// <summary>LoRA A initialisation.</summary>
    public static Generator LoraInit(ulong seed) => new(seed);

    /// <summary>LoRA dropout masks.</summary>
    public static Generator Dropout(ulong seed) => new(unchecked(seed + 1));

    /// <summary>Classification-head initialisation.</summary>
    public static Generator HeadInit(ulong seed) => new(unchecked(seed + 7));
}
