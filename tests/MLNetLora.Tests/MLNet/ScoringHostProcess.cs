using System.Diagnostics;

namespace MLNetLora.Tests.MLNet;

/// <summary>Runs tests/MLNetLora.ML.ScoringHost in a fresh process (nothing registered, nothing loaded).</summary>
internal static class ScoringHostProcess
{
    /// <summary>Runs the host with <paramref name="args"/>; returns its exit code and output.</summary>
    public static (int ExitCode, string Output) Run(params string[] args)
    {
        string config = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        string host = Path.Combine(TestPaths.RepoRoot, "tests", "MLNetLora.ML.ScoringHost", "bin", config, "net10.0", "MLNetLora.ML.ScoringHost.dll");
        Assert.That(File.Exists(host), Is.True, $"{host} was not built; build the solution (the test project references it).");
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        psi.ArgumentList.Add(host);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        Assert.That(p.WaitForExit(120_000), Is.True, "the scoring host did not finish in 2 minutes");
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Runs the host and asserts it succeeded.</summary>
    public static void RunOk(params string[] args)
    {
        var (code, output) = Run(args);
        Assert.That(code, Is.EqualTo(0), output);
    }
}
