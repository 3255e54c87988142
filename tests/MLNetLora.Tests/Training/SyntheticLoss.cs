namespace MLNetLora.Tests.Training;

/// <summary>Seeded, reproducible noise for synthetic loss curves.</summary>
internal sealed class SyntheticLoss(int seed)
{
    private readonly Random random = new(seed);

    /// <summary>A standard normal draw (Box-Muller).</summary>
    public double Normal()
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>A typical fine-tuning curve: fast early drop to a floor, with multiplicative batch noise.</summary>
    public double Decreasing(long step, double noise = 0.04) =>
        (1.5 + 2.0 * Math.Exp(-step / 300.0)) * (1.0 + noise * Normal());
}
