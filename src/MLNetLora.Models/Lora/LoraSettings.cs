namespace MLNetLora.Models.Lora;

/// <summary>
/// Where LoRA goes and how it is scaled, as PEFT's <c>LoraConfig</c>: rank r, alpha, dropout, target
/// module names, and the scale <c>alpha/r</c> (or <c>alpha/√r</c> with rsLoRA).
/// </summary>
public sealed record LoraSettings
{
    /// <summary>Module names of every linear layer in the supported families.</summary>
    public static readonly IReadOnlyList<string> AllLinear =
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "qkv_proj", "gate_up_proj"];

    /// <summary>Rank r of the update <c>B·A</c>.</summary>
    public int Rank { get; init; } = 8;

    /// <summary>Alpha: the update is scaled by alpha/r (or alpha/√r).</summary>
    public double Alpha { get; init; } = 16;

    /// <summary>Dropout on the LoRA branch's input during training.</summary>
    public double Dropout { get; init; }

    /// <summary>Module names that receive adapters (<c>q_proj</c>, …); <see cref="AllLinear"/> for all.</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = ["q_proj", "v_proj"];

    /// <summary>Use rank-stabilised scaling alpha/√r.</summary>
    public bool UseRsLora { get; init; }

    /// <summary>The factor applied to <c>B·A·x</c>.</summary>
    public double Scale => UseRsLora ? Alpha / Math.Sqrt(Rank) : Alpha / Rank;

    /// <summary>Whether a module with this name gets an adapter.</summary>
    public bool Targets(string moduleName) =>
        TargetModules.Contains("all-linear") || TargetModules.Contains(moduleName);

    /// <summary>Checks the values and says what to change.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (Rank <= 0) throw new ArgumentException($"Rank must be positive (got {Rank}); 8 or 16 are common.", nameof(Rank));
        if (!(Alpha > 0)) throw new ArgumentException($"Alpha must be positive (got {Alpha}); 2×rank is common.", nameof(Alpha));
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"Dropout must be in [0, 1) (got {Dropout}).", nameof(Dropout));
        if (TargetModules.Count == 0) throw new ArgumentException("TargetModules needs at least one module name, e.g. q_proj,v_proj or all-linear.", nameof(TargetModules));
    }
}
