namespace MLNetLora.Training.LrFinder;

/// <summary>One step of the sweep.</summary>
/// <param name="Rate">The rate the step trained with.</param>
/// <param name="Loss">The raw training loss of the step.</param>
/// <param name="SmoothedLoss">The bias-corrected exponential moving average of the loss up to this step (NaN after a NaN loss).</param>
public readonly record struct LrFinderPoint(double Rate, double Loss, double SmoothedLoss);
