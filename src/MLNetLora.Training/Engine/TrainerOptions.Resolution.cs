using System.Globalization;
using MLNetLora.Training.Defaults;
using MLNetLora.Training.Schedules;
using MLNetLora.Training.Watchdog;

namespace MLNetLora.Training.Engine;

public sealed partial record TrainerOptions
{
    /// <summary>
    /// Checks every value on its own and against the others, before any model or data is loaded. When
    /// <see cref="MaxSteps"/> fixes the run's length, the schedule is resolved too.
    /// </summary>
    /// <exception cref="TrainerOptionException">A value is out of range; the message names the property and says what to change.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Method)) throw Bad(nameof(Method), $"Method {Method} is not a fine-tuning method; use Lora, QLora or Full.");
        if (FreezeLayers < 0) throw Bad(nameof(FreezeLayers), $"FreezeLayers must not be negative (got {FreezeLayers}); 0 trains every layer.");
        if (Method == FineTuneMethod.Full && Precision is LibTorch.DType.BFloat16 or LibTorch.DType.Float16)
            throw Bad(nameof(Precision), $"Precision {Precision} cannot hold full fine-tuning's updates: the weights are updated in place, and a 16-bit float's short mantissa (8 bits in bfloat16) rounds a step of 1e-5 of a weight's size to nothing. Use Precision = Float32 (the default for Method = Full), or Method = Lora.");
        if (Method == FineTuneMethod.Full && Lora.UseDora)
            throw Bad("Lora.UseDora", "Lora.UseDora makes the adapters DoRA, but Method = Full trains every weight and adds no adapters; use Method = Lora or QLora with DoRA, or turn UseDora off.");
        if (Method != FineTuneMethod.Full && (FreezeLayers > 0 || FreezeEmbeddings))
            throw Bad(FreezeLayers > 0 ? nameof(FreezeLayers) : nameof(FreezeEmbeddings),
                $"{(FreezeLayers > 0 ? nameof(FreezeLayers) : nameof(FreezeEmbeddings))} chooses what full fine-tuning leaves frozen, but Method is {Method}, which keeps every base weight frozen already; set Method = Full or remove it.");
        if (!Enum.IsDefined(Task)) throw Bad(nameof(Task), $"Task {Task} is not a training task; use CausalLm or Classification.");
        if (!Enum.IsDefined(Scheduler)) throw Bad(nameof(Scheduler), $"Scheduler {Scheduler} is not a schedule kind.");
        if (LearningRate is double lr && !(lr > 0 && double.IsFinite(lr)))
            throw Bad(nameof(LearningRate), $"LearningRate must be above 0 (got {Num(lr)}); LoRA usually uses 1e-4 to 3e-4, or leave it unset for the default.");
        if (WarmupSteps is < 0) throw Bad(nameof(WarmupSteps), $"WarmupSteps must not be negative (got {WarmupSteps}).");
        if (WarmupRatio is double wr && !(wr >= 0 && wr <= 1)) throw Bad(nameof(WarmupRatio), $"WarmupRatio must be in [0, 1] (got {Num(wr)}); 0.05 warms up over 5% of the steps.");
        if (Epochs < 1 && MaxSteps is null) throw Bad(nameof(Epochs), $"Epochs must be at least 1 (got {Epochs}), or set MaxSteps.");
        if (MaxSteps is < 1) throw Bad(nameof(MaxSteps), $"MaxSteps must be at least 1 (got {MaxSteps}).");
        if (BatchSize < 1) throw Bad(nameof(BatchSize), $"BatchSize must be at least 1 (got {BatchSize}).");
        if (GradientAccumulation < 1) throw Bad(nameof(GradientAccumulation), $"GradientAccumulation must be at least 1 (got {GradientAccumulation}).");
        NonNegative(nameof(MaxGradNorm), MaxGradNorm, "0 disables clipping");
        NonNegative(nameof(WeightDecay), WeightDecay, "0 is the LoRA default");
        NonNegative(nameof(HeadWeightDecay), HeadWeightDecay, "0.01 is the default");
        Positive(nameof(LoraPlusRatio), LoraPlusRatio, "1 is plain LoRA, 16 the LoRA+ paper's suggestion");
        Positive(nameof(HeadRateMultiplier), HeadRateMultiplier, "1 trains the head at the schedule's rate");
        if (!(Adam.Beta1 >= 0 && Adam.Beta1 < 1) || !(Adam.Beta2 >= 0 && Adam.Beta2 < 1) || !(Adam.Eps > 0))
            throw Bad(nameof(Adam), $"Adam needs betas in [0, 1) and a positive epsilon (got {Num(Adam.Beta1)}, {Num(Adam.Beta2)}, {Num(Adam.Eps)}); PyTorch uses 0.9, 0.999, 1e-8.");
        ValidateLora();
        if (MaxLength < 2) throw Bad(nameof(MaxLength), $"MaxLength must be at least 2 (got {MaxLength}).");
        if (Packing && Task != TrainingTask.CausalLm)
            throw Bad(nameof(Packing), "Packing joins examples into blocks, which only causal-LM training can use; turn Packing off for classification.");
        if (EvalEvery < 0) throw Bad(nameof(EvalEvery), $"EvalEvery must not be negative (got {EvalEvery}); 0 evaluates at epoch ends.");
        if (EvalSplit is double es && !(es > 0 && es < 1)) throw Bad(nameof(EvalSplit), $"EvalSplit must be above 0 and below 1 (got {Num(es)}); 0.1 holds out 10%.");
        if (EarlyStoppingPatience < 0) throw Bad(nameof(EarlyStoppingPatience), $"EarlyStoppingPatience must not be negative (got {EarlyStoppingPatience}); 0 disables it.");
        if (CheckpointEvery < 0) throw Bad(nameof(CheckpointEvery), $"CheckpointEvery must not be negative (got {CheckpointEvery}); 0 writes one at the end.");
        if (KeepCheckpoints is < 1) throw Bad(nameof(KeepCheckpoints), $"KeepCheckpoints must be at least 1 (got {KeepCheckpoints}), or unset to keep all.");
        if (!Enum.IsDefined(Watchdog.Policy)) throw Bad(nameof(Watchdog), $"Watchdog policy {Watchdog.Policy} is unknown.");
        if (OverrideRateOnResume && (ResumeFrom is null || LearningRate is null))
            throw Bad(nameof(OverrideRateOnResume), "OverrideRateOnResume replaces a resumed run's peak rate, so it needs both ResumeFrom and LearningRate.");
        if (MaxSteps is long steps) ResolveSchedule(steps);
    }

    /// <summary>The advisor's choice when <see cref="LearningRate"/> is null (the method's default adjusted for the effective batch); null when a rate was given.</summary>
    public LearningRateRecommendation? RecommendedRate() => LearningRate is null
        ? LearningRateAdvisor.Recommend(Method, Defaults.BatchSize.OfSequences((long)BatchSize * GradientAccumulation), Lora.Rank, Lora.Alpha, Lora.UseRsLora)
        : null;

    /// <summary>
    /// Warnings about a resolved schedule that is legal but almost certainly not meant: a rate far
    /// outside the method's range (100× above or 1000× below the recommendation) or a warmup that
    /// does not end before the run does (the rate never reaches its peak).
    /// </summary>
    /// <param name="schedule">The resolved schedule (<see cref="ResolveSchedule"/>).</param>
    /// <returns>One sentence per warning, naming the property.</returns>
    public IReadOnlyList<string> ScheduleWarnings(ScheduleOptions schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var warnings = new List<string>();
        var rec = LearningRateAdvisor.Recommend(Method, Defaults.BatchSize.OfSequences((long)BatchSize * GradientAccumulation), Lora.Rank, Lora.Alpha, Lora.UseRsLora);
        double ratio = schedule.LearningRate / rec.Rate;
        string method = Method switch { FineTuneMethod.Lora => "LoRA", FineTuneMethod.QLora => "QLoRA", _ => "full fine-tuning" };
        if (ratio >= 100)
            warnings.Add($"LearningRate {RateText.Format(schedule.LearningRate)} is {ratio:F0}x the {method} recommendation ({RateText.Format(rec.Rate)}); " +
                "runs this far above it usually diverge. Lower it, or run the learning-rate finder.");
        else if (ratio <= 1e-3)
            warnings.Add($"LearningRate {RateText.Format(schedule.LearningRate)} is {1 / ratio:F0}x below the {method} recommendation ({RateText.Format(rec.Rate)}); " +
                "the adapters will barely move. Raise it, or run the learning-rate finder.");
        if (schedule.WarmupSteps is long warmup && warmup >= schedule.TotalSteps)
            warnings.Add($"WarmupSteps {warmup} is not shorter than the run's {schedule.TotalSteps} steps, so the rate never reaches its peak " +
                $"(it ends at {RateText.Format(schedule.LearningRate * Math.Min(1, (double)schedule.TotalSteps / Math.Max(1, warmup)))}). Shorten the warmup or use WarmupRatio.");
        return warnings;
    }

    /// <summary>
    /// The schedule a run of <paramref name="plannedSteps"/> optimizer steps follows, fully resolved
    /// (what a checkpoint stores). The rate is <see cref="LearningRate"/> or <see cref="RecommendedRate"/>;
    /// per-kind parameters left null take these defaults: <c>warmup_stable_decay</c> decays over the last
    /// <see cref="TrainingDefaults.WsdDecayFraction"/> of the run, <c>cosine_with_min_lr</c> floors at
    /// <see cref="TrainingDefaults.MinRateRatio"/> of the peak, and the rest take transformers' or
    /// PyTorch's (see <see cref="LearningRateSchedules.Resolve"/>). Front ends call it to check a
    /// configuration before loading a model; the trainer calls it to build the schedule.
    /// </summary>
    /// <param name="plannedSteps">Optimizer steps of the run (<see cref="PlannedSteps"/>); values below 1 count as 1.</param>
    /// <returns>The resolved schedule options.</returns>
    /// <exception cref="TrainerOptionException">The schedule does not fit the run (property <c>Scheduler</c>) or the rate is invalid.</exception>
    public ScheduleOptions ResolveSchedule(long plannedSteps)
    {
        long total = Math.Max(1, plannedSteps);
        double rate = LearningRate ?? RecommendedRate()!.Rate;
        var p = ScheduleParameters ?? new ScheduleOptions();
        if (Scheduler == ScheduleKind.WarmupStableDecay && p.DecaySteps is null)
            p = p with { DecaySteps = (long)Math.Ceiling(total * TrainingDefaults.WsdDecayFraction) };
        if (Scheduler == ScheduleKind.CosineWithMinRate && p.MinRate is null && p.MinRateRatio is null)
            p = p with { MinRateRatio = TrainingDefaults.MinRateRatio };
        var requested = p with
        {
            Kind = Scheduler, LearningRate = rate, TotalSteps = total,
            WarmupSteps = WarmupSteps, WarmupRatio = WarmupSteps is null ? WarmupRatio : null, WarmupShape = WarmupShape,
        };
        try
        {
            return LearningRateSchedules.Resolve(requested);
        }
        catch (ArgumentException e)
        {
            throw Bad(nameof(Scheduler), $"Scheduler {ScheduleKindNames.ToName(Scheduler)} does not fit this run of {total} steps: {e.Message} " +
                "Adjust WarmupSteps or WarmupRatio, Epochs or MaxSteps, or ScheduleParameters.", e);
        }
    }

    /// <summary>The watchdog settings in force: <see cref="Watchdog"/> with the run's peak rate and the per-task spike rule of <see cref="DetectLossSpikes"/>.</summary>
    /// <param name="peakRate">The resolved peak rate, for advice and the flat-loss test.</param>
    public WatchdogOptions ResolveWatchdog(double peakRate)
    {
        bool spikes = DetectLossSpikes ?? Task != TrainingTask.Classification;
        return Watchdog with
        {
            LearningRate = Watchdog.LearningRate ?? peakRate,
            ZThreshold = spikes ? Watchdog.ZThreshold : double.PositiveInfinity,
        };
    }

    private void ValidateLora()
    {
        var l = Lora ?? throw Bad(nameof(Lora), "Lora must be set.");
        if (l.Rank < 1) throw Bad("Lora.Rank", $"Lora.Rank must be at least 1 (got {l.Rank}); 8 or 16 are common.");
        if (!(l.Alpha > 0) || !double.IsFinite(l.Alpha)) throw Bad("Lora.Alpha", $"Lora.Alpha must be above 0 (got {Num(l.Alpha)}); 2×rank is common.");
        if (!(l.Dropout >= 0 && l.Dropout < 1)) throw Bad("Lora.Dropout", $"Lora.Dropout must be in [0, 1) (got {Num(l.Dropout)}).");
        if (l.TargetModules is null || l.TargetModules.Count == 0)
            throw Bad("Lora.TargetModules", "Lora.TargetModules needs at least one module name, e.g. q_proj,v_proj or all-linear.");
    }

    private static void NonNegative(string name, double v, string hint)
    {
        if (!(v >= 0) || !double.IsFinite(v)) throw Bad(name, $"{name} must not be negative (got {Num(v)}); {hint}.");
    }

    private static void Positive(string name, double v, string hint)
    {
        if (!(v > 0) || !double.IsFinite(v)) throw Bad(name, $"{name} must be above 0 (got {Num(v)}); {hint}.");
    }

    private static TrainerOptionException Bad(string property, string message, Exception? inner = null) => new(property, message, inner);

    private static string Num(double v) => v.ToString(CultureInfo.InvariantCulture);
}
