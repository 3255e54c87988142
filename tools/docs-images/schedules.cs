#:project ../../src/MLNetLora.Training/MLNetLora.Training.csproj
// Draws docs/images/schedules.png and warmup.png with the trainer's own schedule code:
//   dotnet run tools/docs-images/schedules.cs      (from the repository root)
using MLNetLora.Training.Reporting;
using MLNetLora.Training.Schedules;

const long Total = 1000;
const double Peak = 2e-4;
ScheduleOptions S(ScheduleKind kind) => new() { Kind = kind, LearningRate = Peak, TotalSteps = Total, WarmupRatio = 0.05 };

ScheduleCharts.SaveSchedules(
[
    S(ScheduleKind.Cosine),
    S(ScheduleKind.Linear),
    S(ScheduleKind.ConstantWithWarmup),
    S(ScheduleKind.CosineWithMinRate) with { MinRateRatio = 0.1 },
    S(ScheduleKind.WarmupStableDecay) with { DecaySteps = 200 },
    S(ScheduleKind.InverseSqrt),
    new() { Kind = ScheduleKind.OneCycle, LearningRate = Peak, TotalSteps = Total },
], "docs/images/schedules.png", "Schedules at peak 2e-4 over 1,000 steps, 5% warmup",
    ["cosine (the default)", "linear", "constant_with_warmup", "cosine_with_min_lr, floor 10%", "warmup_stable_decay, 200 decay steps",
     "inverse_sqrt", "one_cycle (its own rise, no warmup)"]);

ScheduleCharts.SaveSchedules(
[
    new() { Kind = ScheduleKind.Cosine, LearningRate = Peak, TotalSteps = 200, WarmupRatio = 0.05 },
    new() { Kind = ScheduleKind.Cosine, LearningRate = Peak, TotalSteps = 200, WarmupRatio = 0.05, WarmupShape = WarmupShape.Exponential },
    new() { Kind = ScheduleKind.Cosine, LearningRate = Peak, TotalSteps = 200, WarmupRatio = 0.2 },
    new() { Kind = ScheduleKind.Cosine, LearningRate = Peak, TotalSteps = 200 },
], "docs/images/warmup.png", "Warmup on a 200-step cosine run",
    ["5% linear (the default: 10 steps)", "5% exponential", "20% linear", "no warmup"]);
Console.WriteLine("wrote docs/images/schedules.png and docs/images/warmup.png");
