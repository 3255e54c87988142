namespace MLNetLora.ML;

/// <summary>How well a fitted generation model predicts held-out responses (ML.NET-style metrics).</summary>
/// <param name="Loss">Mean cross-entropy per response token (natural log).</param>
/// <param name="Perplexity">exp(<paramref name="Loss"/>).</param>
/// <param name="Tokens">Response tokens scored (EOS included).</param>
/// <param name="Rows">Rows read.</param>
public sealed record GenerationMetrics(double Loss, double Perplexity, long Tokens, long Rows);
