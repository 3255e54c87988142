using System.Diagnostics;

namespace MLNetLora.Benchmarks;

/// <summary>
/// Peak memory while a case runs. The binding has no handle on libtorch's CUDA allocator statistics (they are C++,
/// outside the stable C ABI), so on CUDA this polls <c>nvidia-smi</c> for this process's memory every 50 ms: it includes
/// the caching allocator's reserve and the CUDA context (~0.5 GiB), so it reads higher than PyTorch's
/// <c>max_memory_allocated</c> for the same tensors. On the CPU it is the process's peak resident set.
/// </summary>
internal sealed class GpuMemory : IDisposable
{
    private readonly bool cuda;
    private readonly CancellationTokenSource stop = new();
    private readonly Task? poller;
    private long peakMiB;

    public GpuMemory(bool cuda)
    {
        this.cuda = cuda;
        if (cuda) poller = Task.Run(Poll);
    }

    public string Source => cuda ? "nvidia-smi used_memory of this process (allocator reserve + context)" : "peak resident set of the process";

    public double PeakGiB() => Math.Round(cuda ? Interlocked.Read(ref peakMiB) / 1024.0 : Process.GetCurrentProcess().PeakWorkingSet64 / (double)(1L << 30), 2);

    /// <summary>The GPU's name from nvidia-smi, or null without one.</summary>
    public static string? DeviceName() => Smi("--query-gpu=name,memory.total,driver_version --format=csv,noheader")?.Trim();

    private async Task Poll()
    {
        int pid = Environment.ProcessId;
        while (!stop.IsCancellationRequested)
        {
            string? text = Smi("--query-compute-apps=pid,used_memory --format=csv,noheader,nounits");
            foreach (string line in (text ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var f = line.Split(',', StringSplitOptions.TrimEntries);
                if (f.Length == 2 && int.TryParse(f[0], out int p) && p == pid && long.TryParse(f[1], out long mib) && mib > Interlocked.Read(ref peakMiB))
                    Interlocked.Exchange(ref peakMiB, mib);
            }
            try { await Task.Delay(50, stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
    }

    private static string? Smi(string arguments)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("nvidia-smi", arguments) { RedirectStandardOutput = true, RedirectStandardError = true });
            if (p is null) return null;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit(5000);
            return p.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;   // no nvidia-smi: no GPU here
        }
    }

    public void Dispose()
    {
        stop.Cancel();
        try { poller?.Wait(1000); }
        catch (AggregateException) { }
        stop.Dispose();
    }
}
