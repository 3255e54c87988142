using MLNetLora.Cli;
using MLNetLora.Cli.Commands;
using MLNetLora.Training.Data;

namespace MLNetLora.Tests.Cli;

public class TrainingDataTests
{
    private static List<TrainingExample> Rows(int n) => Enumerable.Range(0, n).Select(i => new TrainingExample([i, i + 1])).ToList();

    private static int[] Ids(IEnumerable<TrainingExample> rows) => rows.Select(r => r.InputIds[0]).ToArray();

    [Test]
    public void Split_SameSeed_GivesSameSplitInFileOrder()
    {
        var (train1, eval1) = TrainingData.Split(Rows(50), 0.2, 7);
        var (train2, eval2) = TrainingData.Split(Rows(50), 0.2, 7);
        Assert.That(Ids(eval1), Is.EqualTo(Ids(eval2)));
        Assert.That(Ids(train1), Is.EqualTo(Ids(train2)));
        Assert.That(eval1, Has.Count.EqualTo(10));
        Assert.That(Ids(train1).Concat(Ids(eval1)).Order(), Is.EqualTo(Enumerable.Range(0, 50)), "every row lands on exactly one side");
        Assert.That(Ids(eval1), Is.Ordered, "both sides keep file order");
    }

    [Test]
    public void Split_OtherSeed_HoldsOutOtherRows()
    {
        var (_, a) = TrainingData.Split(Rows(50), 0.2, 7);
        var (_, b) = TrainingData.Split(Rows(50), 0.2, 8);
        Assert.That(Ids(a), Is.Not.EqualTo(Ids(b)));
    }

    [Test]
    public void Split_FractionLeavingNoEvaluation_IsUsageError()
    {
        var e = Assert.Throws<UsageException>(() => TrainingData.Split(Rows(4), 0.1, 1));
        Assert.That(e!.Message, Does.Contain("leaves no evaluation examples"));
    }

    [Test]
    public void WriteLabels_ThenReadLabels_KeepsOrder()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "labels.json");
        TrainingData.WriteLabels(path, ["spam", "ham", "phish"]);
        Assert.That(TrainingData.ReadLabels(path), Is.EqualTo(new[] { "spam", "ham", "phish" }));
        Assert.That(File.ReadAllText(path), Does.Contain("\"label2id\""));
        File.Delete(path);
    }
}
