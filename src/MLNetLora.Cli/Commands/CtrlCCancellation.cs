namespace MLNetLora.Cli.Commands;

/// <summary>
/// Turns the first Ctrl+C into a cancellation request, so the trainer finishes its step and writes a
/// checkpoint; a second Ctrl+C ends the process at once, as usual. Disposing unhooks the handler.
/// </summary>
public sealed class CtrlCCancellation : IDisposable
{
    private readonly CancellationTokenSource source;
    private readonly TextWriter error;
    private readonly string notice;

    /// <summary>Hooks <see cref="Console.CancelKeyPress"/>; the token also follows <paramref name="outer"/>.</summary>
    /// <param name="error">Where the notice about stopping goes.</param>
    /// <param name="notice">What the first Ctrl+C will do, in words.</param>
    /// <param name="outer">Another reason to stop (for callers that run the tool in-process).</param>
    public CtrlCCancellation(TextWriter error, string notice, CancellationToken outer = default)
    {
        this.error = error;
        this.notice = notice;
        source = CancellationTokenSource.CreateLinkedTokenSource(outer);
        Console.CancelKeyPress += OnCancelKeyPress;
    }

    /// <summary>Cancelled by the first Ctrl+C or by the outer token.</summary>
    public CancellationToken Token => source.Token;

    /// <summary>Requests the stop that the first Ctrl+C requests.</summary>
    public void RequestStop()
    {
        if (source.IsCancellationRequested) return;
        error.WriteLine(notice + " Press Ctrl+C again to quit at once.");
        source.Cancel();
    }

    /// <summary>Unhooks the handler.</summary>
    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        source.Dispose();
    }

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        if (source.IsCancellationRequested) return;
        e.Cancel = true;
        RequestStop();
    }
}
