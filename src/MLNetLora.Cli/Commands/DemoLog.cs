using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// The trainer's ML.NET log lines (progress every few steps, the rate it chose, evaluations), shown as
/// they come: on stderr, so stdout keeps the results; other components' chatter is left out.
/// </summary>
internal sealed class DemoLog(CliContext context)
{
    public void OnLog(object? sender, LoggingEventArgs e)
    {
        // Trace carries ML.NET's channel bookkeeping ("Channel started"), not the trainer's messages.
        if (e.Kind == ChannelMessageKind.Trace || !e.Source.Contains("LoraTrainer", StringComparison.Ordinal)) return;
        lock (this) context.Error.WriteLine("  " + e.RawMessage);
    }
}
