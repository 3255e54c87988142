using System.Text.Json;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Tests.Training;

/// <summary>The cosine schedule against the rates a real transformers run logged (shared/fixtures/hf/llama/trajectory.json).</summary>
public class TrajectoryScheduleTests
{
    [Test]
    public void Cosine_TransformersTrajectory_ReproducesLoggedRates()
    {
        string path = Path.Combine(TestPaths.Fixture("llama"), "trajectory.json");
        Assert.That(File.Exists(path), Is.True, path);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        Assert.That(doc.RootElement.GetProperty("scheduler").GetString(), Is.EqualTo("cosine, warmup 3 of 12 steps, peak lr 1e-3"));
        var steps = doc.RootElement.GetProperty("steps").EnumerateArray().ToArray();
        Assert.That(steps, Has.Length.EqualTo(12));

        var schedule = LearningRateSchedules.Create(new ScheduleOptions
        {
            Kind = ScheduleKind.Cosine, LearningRate = 1e-3, TotalSteps = steps.Length, WarmupSteps = 3,
        });
        Assert.Multiple(() =>
        {
            foreach (var s in steps)
            {
                // The fixture counts steps from 1; the rate of logged step k is lambda(k - 1) * peak.
                int logged = s.GetProperty("step").GetInt32();
                double expected = s.GetProperty("lr").GetDouble();
                Assert.That(schedule.LearningRate(logged - 1), Is.EqualTo(expected).Within(1e-10).Percent, $"logged step {logged}");
            }
        });
    }
}
