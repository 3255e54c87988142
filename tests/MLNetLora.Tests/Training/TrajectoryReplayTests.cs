using System.Text.Json;
using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;
using MLNetLora.Training.Data;
using MLNetLora.Training.Engine;
using MLNetLora.Training.Schedules;

namespace MLNetLora.Tests.Training;

/// <summary>
/// Replays the 12-step PEFT + transformers Trainer run recorded in the fixtures: every step's rate,
/// loss and gradient norm, and the final adapter, must match to 1e-5 relative.
/// </summary>
[TestFixture("llama")]
[TestFixture("qwen2")]
public class TrajectoryReplayTests(string fixture)
{
    [Test]
    public void Replay_MatchesPeftTrajectory_StepByStep_AndFinalAdapter()
    {
        string dir = TestPaths.Fixture(fixture);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "trajectory.json")));
        var steps = doc.RootElement.GetProperty("steps").EnumerateArray().ToList();
        long[] tokens;
        using (var f = SafeTensorsFile.Open(Path.Combine(dir, "trajectory_tokens.safetensors")))
        using (var t = f.Load("tokens")) tokens = t.ToArray<long>();

        using var pm = PretrainedModel.Load(dir);
        var lora = PeftAdapterIO.Load(pm.Model, Path.Combine(dir, "trajectory_init_adapter"));
        var options = new TrainerOptions
        {
            LearningRate = 1e-3, Scheduler = ScheduleKind.Cosine, WarmupSteps = 3, MaxSteps = steps.Count,
            WeightDecay = 0.01, MaxGradNorm = 1.0, Lora = lora, Adam = (0.9, 0.999, 1e-8),
        };
        using var trainer = new LoraTrainer(pm.Model, options);
        trainer.Prepare(steps.Count);
        foreach (var s in steps)
        {
            int offset = s.GetProperty("batch_offset").GetInt32();
            var shape = s.GetProperty("batch_shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var ids = tokens.Skip(offset).Take(shape[0] * shape[1]).ToArray();
            var batch = new Batch(ids, Enumerable.Repeat(1L, ids.Length).ToArray(), ids, null, shape[0], shape[1]);
            var m = trainer.Step([batch]);
            int n = s.GetProperty("step").GetInt32();
            double lr = s.GetProperty("lr").GetDouble(), loss = s.GetProperty("loss").GetDouble(), norm = s.GetProperty("grad_norm").GetDouble();
            Assert.That(m.LearningRate, Is.EqualTo(lr).Within(1e-12 + 1e-9 * lr), $"lr at step {n}");
            Assert.That(m.Loss, Is.EqualTo(loss).Within(1e-5 * loss), $"loss at step {n}");
            Assert.That(m.GradNorm, Is.EqualTo(norm).Within(1e-5 * norm), $"grad norm at step {n}");
        }
        using var expected = SafeTensorsFile.Open(Path.Combine(dir, "trajectory_final_adapter", PeftAdapterIO.WeightsFileName));
        foreach (var (name, a) in pm.Model.Adapters)
        {
            foreach (var (suffix, live) in new[] { ("lora_A", a.A), ("lora_B", a.B) })
            {
                using var want = expected.Load($"base_model.model.{name}.{suffix}.weight");
                var w = want.ToArray<double>();
                var got = live.ToArray<double>();
                double scale = w.Max(Math.Abs);
                double worst = w.Zip(got, (x, y) => Math.Abs(x - y)).Max();
                Assert.That(worst, Is.LessThanOrEqualTo(1e-5 * scale), $"{name}.{suffix}: max |diff| {worst:G3} vs max |w| {scale:G3}");
            }
        }
    }
}
