using System.Text.Json;
using Microsoft.ML;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;
using MLNetLora.Tests.Cli;
using MLNetLora.Tests.MLNet;
using static MLNetLora.Tests.Cli.CliFixture;
using static MLNetLora.Tests.Cli.TrainingTestData;

namespace MLNetLora.Tests.Configuration;

/// <summary>
/// Every schedule kind trains through the ML.NET estimator and through <c>mlnetlora train</c> with
/// only the kind chosen, and both runs store the same resolved schedule (the training layer's
/// per-kind defaults, not a front end's).
/// </summary>
[NonParallelizable]
public class ScheduleKindsAcrossFrontEndsTests : TempDirFixture
{
    private const int Steps = 4;

    public static IEnumerable<ScheduleKind> Kinds => Enum.GetValues<ScheduleKind>();

    [TestCaseSource(nameof(Kinds))]
    public void Fit_EveryScheduleKind_ThroughMLNetAndCli_ResolvesTheSameSchedule(ScheduleKind kind)
    {
        string mlOut = Path.Combine(Dir, "ml"), cliOut = Path.Combine(Dir, "cli");
        var ml = new MLContext(seed: 1);
        var options = MLNetTestData.Options();
        options.Scheduler = kind;
        options.MaxSteps = Steps;
        options.OutputDirectory = mlOut;
        using (var model = MLNetTestData.Pipeline(ml, options).Fit(ml.Data.LoadFromEnumerable(MLNetTestData.Rows(32, seed: 3))))
            Assert.That(model.LastTransformer.LabelNames, Has.Count.EqualTo(2));

        var r = CliRun.Run("train", Llama, "--data", MobyDickSlice(Dir, 4_000), "--output", cliOut, "--max-length", "32",
            "--scheduler", ScheduleKindNames.ToName(kind), "--max-steps", Steps.ToString(System.Globalization.CultureInfo.InvariantCulture), "--lr", "3e-3");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());

        var fromMl = ReadSchedule(mlOut);
        var fromCli = ReadSchedule(cliOut);
        Assert.That(fromMl.Kind, Is.EqualTo(kind));
        Assert.That(fromCli, Is.EqualTo(fromMl), "same settings, same resolved schedule");
        Assert.That(fromMl, Is.EqualTo(new TrainerOptions { Scheduler = kind, LearningRate = 3e-3, MaxSteps = Steps }.ResolveSchedule(Steps)));
    }

    private static ScheduleOptions ReadSchedule(string output) =>
        TrainingCheckpoint.ReadState(TrainingCheckpoint.Resolve(output)).Schedule;
}
