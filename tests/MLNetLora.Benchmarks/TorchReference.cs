using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetLora.Benchmarks;

/// <summary>
/// A long-lived PyTorch process running <c>tools/bench/torch_llama.py</c> (a hand-written Llama with the
/// same LoRA), driven one JSON command per line, so both sides are warm processes and can be alternated
/// step by step.
/// </summary>
internal sealed class TorchReference : IDisposable
{
    private readonly Process process;

    private TorchReference(Process process, JsonObject ready)
    {
        this.process = process;
        Ready = ready;
    }

    /// <summary>The runner's first line: torch version, threads, BLAS library, attention path.</summary>
    public JsonObject Ready { get; }

    /// <summary>Debian's interpreter, which has python3-torch (a pyenv python3 on PATH may not).</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>Why the reference cannot run here, or null when it can.</summary>
    public static string? Unavailable(string script)
    {
        if (!File.Exists(script)) return $"{script} is missing";
        if (!File.Exists(Python)) return $"{Python} is missing (apt-get install python3-torch libopenblas0-openmp)";
        var probe = Process.Start(new ProcessStartInfo(Python, "-c \"import torch\"") { RedirectStandardError = true, UseShellExecute = false })!;
        probe.WaitForExit();
        return probe.ExitCode == 0 ? null : "python3-torch is not installed (apt-get install python3-torch libopenblas0-openmp)";
    }

    /// <summary>Starts the runner on the files <see cref="TorchSuite"/> wrote and waits for its ready line.</summary>
    /// <exception cref="InvalidOperationException">The runner exited or answered with an error.</exception>
    public static TorchReference Start(string script, string config, string weights, string adapter, string ids, int threads)
    {
        var psi = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (string a in new[] { script, "--config", config, "--weights", weights, "--adapter", adapter, "--ids", ids, "--threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        // Both sides get the same thread count.
        psi.Environment["OMP_NUM_THREADS"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {Python}.");
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("[torch] " + e.Data); };
        p.BeginErrorReadLine();
        string? line = p.StandardOutput.ReadLine();
        if (line is null) throw new InvalidOperationException($"{script} exited before it was ready (exit code {(p.WaitForExit(5000) ? p.ExitCode : -1)}).");
        return new TorchReference(p, Parse(line));
    }

    /// <summary>Sends one command and returns the answer.</summary>
    /// <exception cref="InvalidOperationException">The runner answered with an error or exited.</exception>
    public JsonObject Send(object command)
    {
        process.StandardInput.WriteLine(JsonSerializer.Serialize(command));
        process.StandardInput.Flush();
        string line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("The PyTorch runner exited.");
        var reply = Parse(line);
        if (reply["error"] is JsonNode error) throw new InvalidOperationException("PyTorch runner: " + error);
        return reply;
    }

    private static JsonObject Parse(string line) =>
        JsonNode.Parse(line) as JsonObject ?? throw new InvalidOperationException($"The PyTorch runner printed '{line}', not a JSON object.");

    /// <summary>Asks the runner to quit and waits for it.</summary>
    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.StandardInput.WriteLine("{\"cmd\": \"quit\"}");
                process.StandardInput.Flush();
                if (!process.WaitForExit(10_000)) process.Kill();
            }
        }
        catch (IOException)
        {
            // Already gone.
        }
        process.Dispose();
    }
}
