using System.Text.RegularExpressions;

namespace MLNetLora.Models.Lora;

/// <summary>
/// Where LoRA goes and how it is scaled, as PEFT's <c>LoraConfig</c>: rank r, alpha, dropout, target
/// modules (names, or a regular expression), excluded modules, the layers to transform, per-module
/// rank and alpha patterns, and the scale <c>alpha/r</c> (or <c>alpha/√r</c> with rsLoRA). Matching
/// follows PEFT's <c>check_target_module_exists</c> and <c>get_pattern_key</c> on full module names
/// such as <c>model.layers.3.self_attn.q_proj</c>. <see cref="UseDora"/> turns on PEFT's DoRA variant.
/// </summary>
public sealed record LoraSettings
{
    /// <summary>Module names of every linear layer in the supported families.</summary>
    public static readonly IReadOnlyList<string> AllLinear =
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "qkv_proj", "gate_up_proj"];

    /// <summary>Rank r of the update <c>B·A</c> (modules without a <see cref="RankPattern"/> entry).</summary>
    public int Rank { get; init; } = 8;

    /// <summary>Alpha: the update is scaled by alpha/r (or alpha/√r) (modules without an <see cref="AlphaPattern"/> entry).</summary>
    public double Alpha { get; init; } = 16;

    /// <summary>Dropout on the LoRA branch's input during training.</summary>
    public double Dropout { get; init; }

    /// <summary>
    /// Module names that receive adapters (<c>q_proj</c>, …; a module matches when its full name equals
    /// an entry or ends with "." + entry), or <c>all-linear</c>. Ignored when <see cref="TargetRegex"/> is set.
    /// </summary>
    public IReadOnlyList<string> TargetModules { get; init; } = ["q_proj", "v_proj"];

    /// <summary>PEFT's <c>target_modules</c> given as a string: a regular expression the full module name must match entirely.</summary>
    public string? TargetRegex { get; init; }

    /// <summary>PEFT's <c>exclude_modules</c> as a list: names (or name suffixes) that get no adapter even when targeted.</summary>
    public IReadOnlyList<string> ExcludeModules { get; init; } = [];

    /// <summary>PEFT's <c>exclude_modules</c> as a string: a regular expression matched against the whole module name.</summary>
    public string? ExcludeRegex { get; init; }

    /// <summary>PEFT's <c>layers_to_transform</c>: only modules of these layer indices get adapters (null: all layers).</summary>
    public IReadOnlyList<int>? LayersToTransform { get; init; }

    /// <summary>PEFT's <c>layers_pattern</c>: the name(s) of the layer list whose index <see cref="LayersToTransform"/> reads (null: any).</summary>
    public IReadOnlyList<string>? LayersPattern { get; init; }

    /// <summary>PEFT's <c>rank_pattern</c>: a pattern (regex on the module-name suffix) to the rank of the modules it matches.</summary>
    public IReadOnlyDictionary<string, int> RankPattern { get; init; } = new Dictionary<string, int>();

    /// <summary>PEFT's <c>alpha_pattern</c>: a pattern to the alpha of the modules it matches.</summary>
    public IReadOnlyDictionary<string, double> AlphaPattern { get; init; } = new Dictionary<string, double>();

    /// <summary>Use rank-stabilised scaling alpha/√r.</summary>
    public bool UseRsLora { get; init; }

    /// <summary>
    /// PEFT's <c>use_dora</c>: weight-decomposed LoRA. Each adapted layer also trains a magnitude vector m
    /// (out) and computes <c>m / ‖W + scale·B·A‖_row ⊙ (x Wᵀ + scale·x Aᵀ Bᵀ) + b</c>, the norm
    /// treated as a constant in backward (DoRA paper §4.3).
    /// </summary>
    public bool UseDora { get; init; }

    /// <summary>The factor applied to <c>B·A·x</c> for modules without a pattern entry.</summary>
    public double Scale => ScaleOf(Rank, Alpha);

    /// <summary>Whether a module gets an adapter: targeted, not excluded, and in <see cref="LayersToTransform"/> when set.</summary>
    /// <param name="moduleName">The full module name (a bare name such as <c>q_proj</c> also works for list targets).</param>
    public bool Targets(string moduleName)
    {
        ArgumentNullException.ThrowIfNull(moduleName);
        if (ExcludeRegex is string ex ? Regex.IsMatch(moduleName, $"^(?:{ex})$") : MatchesName(ExcludeModules, moduleName)) return false;
        bool found = TargetRegex is string re ? Regex.IsMatch(moduleName, $"^(?:{re})$")
            : TargetModules.Contains("all-linear") || MatchesName(TargetModules, moduleName);
        if (!found || LayersToTransform is null) return found;
        int? index = LayerIndex(moduleName);
        return index is int i && LayersToTransform.Contains(i);
    }

    /// <summary>The rank of a module's adapter (<see cref="RankPattern"/>, else <see cref="Rank"/>).</summary>
    public int RankFor(string moduleName) => PatternKey(RankPattern.Keys, moduleName) is string k ? RankPattern[k] : Rank;

    /// <summary>The alpha of a module's adapter (<see cref="AlphaPattern"/>, else <see cref="Alpha"/>).</summary>
    public double AlphaFor(string moduleName) => PatternKey(AlphaPattern.Keys, moduleName) is string k ? AlphaPattern[k] : Alpha;

    /// <summary>The factor applied to a module's <c>B·A·x</c>.</summary>
    public double ScaleFor(string moduleName) => ScaleOf(RankFor(moduleName), AlphaFor(moduleName));

    /// <summary>Checks the values and says what to change.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (Rank <= 0) throw new ArgumentException($"Rank must be positive (got {Rank}); 8 or 16 are common.", nameof(Rank));
        if (!(Alpha > 0)) throw new ArgumentException($"Alpha must be positive (got {Alpha}); 2×rank is common.", nameof(Alpha));
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"Dropout must be in [0, 1) (got {Dropout}).", nameof(Dropout));
        if (TargetRegex is null && TargetModules.Count == 0) throw new ArgumentException("TargetModules needs at least one module name, e.g. q_proj,v_proj or all-linear.", nameof(TargetModules));
        if (RankPattern.Values.Any(r => r <= 0)) throw new ArgumentException("RankPattern ranks must be positive.", nameof(RankPattern));
        if (AlphaPattern.Values.Any(a => !(a > 0))) throw new ArgumentException("AlphaPattern alphas must be positive.", nameof(AlphaPattern));
        foreach (string? re in new[] { TargetRegex, ExcludeRegex }.Concat(RankPattern.Keys).Concat(AlphaPattern.Keys))
        {
            if (re is null) continue;
            try { _ = new Regex(re); }
            catch (ArgumentException e) { throw new ArgumentException($"'{re}' is not a regular expression: {e.Message}", nameof(TargetRegex), e); }
        }
    }

    private double ScaleOf(int rank, double alpha) => UseRsLora ? alpha / Math.Sqrt(rank) : alpha / rank;

    // PEFT: key in list, or key ends with "." + entry.
    private static bool MatchesName(IReadOnlyList<string> names, string key) =>
        names.Any(n => key == n || key.EndsWith("." + n, StringComparison.Ordinal));

    // PEFT's get_pattern_key: the first pattern p with re.match(rf"(.*\.)?({p})$", key).
    private static string? PatternKey(IEnumerable<string> patterns, string key) =>
        patterns.FirstOrDefault(p => Regex.IsMatch(key, $"^(.*\\.)?({p})$"));

    private int? LayerIndex(string key)
    {
        var patterns = LayersPattern is { Count: > 0 } lp ? lp.Select(Regex.Escape) : ["[^.]*"];
        foreach (string p in patterns)
        {
            var m = Regex.Match(key, $"^.*\\.{p}\\.(\\d+)\\.");
            if (m.Success) return int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        return null;
    }
}
