using Microsoft.ML;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// The trainer's ML.NET log lines (progress every few steps, the rate it chose, evaluations), shown as
/// they come: on stderr, so stdout keeps the results; other components' chatter is left out.
/// </summary>
internal sealed class DemoLog(CliContext context)
{
    public void OnLog(object? sender, LoggingEventArgs e)
    {
        if (!e.Source.Contains("LoraTrainer", StringComparison.Ordinal)) return;
        lock (this) context.Error.WriteLine("  " + e.RawMessage);
    }
}
