using System.Runtime.InteropServices;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// Turns the first stop signal — Ctrl+C (SIGINT), SIGTERM (what <c>docker stop</c>, Kubernetes and
/// Slurm send) or SIGHUP (a closed terminal) — into a cancellation request, so the trainer finishes
/// its step and writes a checkpoint; a second Ctrl+C ends the process at once, as usual. The command
/// then exits with the conventional code 128 + the signal's number (<see cref="ExitCode"/>).
/// Disposing unhooks the handlers.
/// </summary>
public sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource source;
    private readonly TextWriter error;
    private readonly string notice;
    private readonly List<PosixSignalRegistration> registrations = [];

    /// <summary>Hooks Ctrl+C, SIGTERM and SIGHUP; the token also follows <paramref name="outer"/>.</summary>
    /// <param name="error">Where the notice about stopping goes.</param>
    /// <param name="notice">What the first signal will do, in words.</param>
    /// <param name="outer">Another reason to stop (for callers that run the tool in-process).</param>
    public StopSignals(TextWriter error, string notice, CancellationToken outer = default)
    {
        this.error = error;
        this.notice = notice;
        source = CancellationTokenSource.CreateLinkedTokenSource(outer);
        Console.CancelKeyPress += OnCancelKeyPress;
        if (!OperatingSystem.IsWindows())
        {
            registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal));
            registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal));
        }
    }

    /// <summary>Cancelled by the first stop signal or by the outer token.</summary>
    public CancellationToken Token => source.Token;

    /// <summary>The signal that asked to stop, or null (none, or the outer token).</summary>
    public PosixSignal? Signal { get; private set; }

    /// <summary>128 + the signal's number (130 Ctrl+C, 143 SIGTERM, 129 SIGHUP); 130 when cancelled otherwise.</summary>
    public int ExitCode => Signal switch
    {
        PosixSignal.SIGTERM => 143,
        PosixSignal.SIGHUP => 129,
        _ => 130,
    };

    /// <summary>Requests the stop that the first Ctrl+C requests.</summary>
    public void RequestStop(PosixSignal? signal = null)
    {
        if (source.IsCancellationRequested) return;
        Signal = signal;
        string what = signal switch { PosixSignal.SIGTERM => "SIGTERM received. ", PosixSignal.SIGHUP => "SIGHUP received. ", _ => "" };
        error.WriteLine(what + notice + (signal is PosixSignal.SIGTERM or PosixSignal.SIGHUP ? "" : " Press Ctrl+C again to quit at once."));
        source.Cancel();
    }

    /// <summary>Unhooks the handlers.</summary>
    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        foreach (var r in registrations) r.Dispose();
        source.Dispose();
    }

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        if (source.IsCancellationRequested) return;
        e.Cancel = true;
        RequestStop(PosixSignal.SIGINT);
    }

    // A repeated SIGTERM keeps waiting for the checkpoint; the sender's own timeout (docker stop's 10 s,
    // Kubernetes' grace period) is what ends a step that takes too long.
    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        RequestStop(context.Signal);
    }
}
