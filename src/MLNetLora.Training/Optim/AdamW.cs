using MLNetLora.LibTorch;

namespace MLNetLora.Training.Optim;

/// <summary>
/// AdamW as <c>torch.optim.AdamW</c> computes it: bias-corrected first and second moments, decoupled
/// weight decay <c>p ← p·(1 − lr·wd)</c>, update <c>p ← p − lr·m̂/(√v̂ + eps)</c>. State (moments, step)
/// is float32 (float64 for float64 parameters) on the parameters' device. One fused libtorch call
/// (<c>aten::_fused_adamw_</c>) updates a whole group.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly List<GroupState> groups = [];

    /// <summary>Creates the optimizer with zero moments.</summary>
    /// <exception cref="ArgumentException">A group's gradients do not match its parameters.</exception>
    public AdamW(IEnumerable<ParameterGroup> parameterGroups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(parameterGroups);
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        foreach (var g in parameterGroups)
        {
            if (g.Parameters.Count != g.Gradients.Count)
                throw new ArgumentException($"Group '{g.Name}' has {g.Parameters.Count} parameters but {g.Gradients.Count} gradients.");
            groups.Add(new GroupState(g));
        }
    }

    /// <summary>First-moment decay.</summary>
    public double Beta1 { get; }

    /// <summary>Second-moment decay.</summary>
    public double Beta2 { get; }

    /// <summary>Denominator epsilon.</summary>
    public double Eps { get; }

    /// <summary>Number of updates applied so far.</summary>
    public long Step { get; private set; }

    /// <summary>The parameter groups.</summary>
    public IReadOnlyList<ParameterGroup> Groups => groups.Select(g => g.Group).ToList();

    /// <summary>Applies one update at base rate <paramref name="learningRate"/> (each group scales it).</summary>
    public void Update(double learningRate)
    {
        Step++;
        foreach (var g in groups)
        {
            if (g.Group.Parameters.Count == 0) continue;
            foreach (var s in g.Steps) s.Fill_(Step); // the fused kernel reads the (already incremented) step
            Aten.CallVoid("aten::_fused_adamw_", "", 0,
                g.Group.Parameters.ToArray(), g.Group.Gradients.ToArray(), g.ExpAvg, g.ExpAvgSq, Array.Empty<Tensor>(), g.Steps,
                learningRate * g.Group.RateMultiplier, Beta1, Beta2, g.Group.WeightDecay, Eps, false, false,
                AtenArg.None, AtenArg.None);
        }
    }

    /// <summary>Moments per group for checkpoints: (group name, exp_avg, exp_avg_sq) in parameter order.</summary>
    public IEnumerable<(string Group, int Index, Tensor ExpAvg, Tensor ExpAvgSq)> StateTensors() =>
        groups.SelectMany(g => g.ExpAvg.Select((m, i) => (g.Group.Name, i, m, g.ExpAvgSq[i])));

    /// <summary>Restores the step counter after the moments were copied back from a checkpoint.</summary>
    public void RestoreStep(long step) => Step = step;

    /// <summary>Frees the optimizer state (not the parameters).</summary>
    public void Dispose()
    {
        foreach (var g in groups) g.Dispose();
    }

    private sealed class GroupState : IDisposable
    {
        public GroupState(ParameterGroup group)
        {
            Group = group;
            ExpAvg = group.Parameters.Select(p => Tensor.Zeros(p.Shape, StateType(p), p.Device).DetachFromScopes()).ToArray();
            ExpAvgSq = group.Parameters.Select(p => Tensor.Zeros(p.Shape, StateType(p), p.Device).DetachFromScopes()).ToArray();
            Steps = group.Parameters.Select(p => Tensor.Zeros([], DType.Float32, p.Device).DetachFromScopes()).ToArray();
        }

        public ParameterGroup Group { get; }
        public Tensor[] ExpAvg { get; }
        public Tensor[] ExpAvgSq { get; }
        public Tensor[] Steps { get; }

        private static DType StateType(Tensor p) => p.DType == DType.Float64 ? DType.Float64 : DType.Float32;

        public void Dispose()
        {
            foreach (var t in ExpAvg.Concat(ExpAvgSq).Concat(Steps)) t.Dispose();
        }
    }
}
