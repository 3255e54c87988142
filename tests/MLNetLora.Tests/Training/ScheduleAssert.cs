using MLNetLora.Training.Schedules;

namespace MLNetLora.Tests.Training;

/// <summary>Compares a schedule with expected rates to 1e-12 relative (exactly for an expected 0).</summary>
internal static class ScheduleAssert
{
    public static void Rates(ILearningRateSchedule schedule, params (long Step, double Expected)[] points)
    {
        Assert.Multiple(() =>
        {
            foreach (var (step, expected) in points)
                Assert.That(schedule.LearningRate(step), Is.EqualTo(expected).Within(1e-10).Percent, $"step {step}");
        });
    }
}
