using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using MLNetLora.LibTorch;

namespace MLNetLora.Benchmarks;

/// <summary>
/// What the numbers were measured on, stored with every result file so runs can be compared honestly. The load
/// average matters on shared machines: other processes competing for the cores and the disk skew every timing.
/// </summary>
internal sealed record MachineInfo(
    string Os,
    string Kernel,
    string Cpu,
    int LogicalCores,
    double MemoryGiB,
    string Runtime,
    string LibTorch,
    string? TempFileSystem,
    string? TransparentHugePages,
    string? LoadAverage)
{
    public static MachineInfo Collect(string? tempDirectory = null) => new(
        RuntimeInformation.OSDescription,
        ReadFirstLine("/proc/sys/kernel/osrelease") ?? Environment.OSVersion.VersionString,
        CpuModel() ?? RuntimeInformation.ProcessArchitecture.ToString(),
        Environment.ProcessorCount,
        Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (double)(1L << 30), 1),
        RuntimeInformation.FrameworkDescription,
        Torch.Info.Version,
        tempDirectory is null ? null : FileSystemOf(tempDirectory),
        ReadFirstLine("/sys/kernel/mm/transparent_hugepage/enabled"),
        ReadFirstLine("/proc/loadavg"));

    private static string? ReadFirstLine(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadLines(path).FirstOrDefault()?.Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string? CpuModel()
    {
        if (!File.Exists("/proc/cpuinfo")) return null;
        string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line?[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }

    /// <summary>"ext4 on /dev/vda" for the mount holding <paramref name="path"/>: tmpfs or overlay changes what "cold" means.</summary>
    private static string? FileSystemOf(string path)
    {
        if (!File.Exists("/proc/mounts")) return null;
        string full = Path.GetFullPath(path);
        string? best = null;
        int bestLength = -1;
        foreach (string line in File.ReadLines("/proc/mounts"))
        {
            var f = line.Split(' ');
            if (f.Length < 3) continue;
            string mount = f[1];
            bool covers = full == mount || full.StartsWith(mount.TrimEnd('/') + "/", StringComparison.Ordinal);
            if (covers && mount.Length > bestLength)
            {
                best = $"{f[2]} on {f[0]} (mounted at {mount})";
                bestLength = mount.Length;
            }
        }
        return best;
    }
}

/// <summary>Writes a suite's results as indented JSON, with the date and machine.</summary>
internal static class ResultFile
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        // Readable "+00:00" and "->" in the file; it is data for people and scripts, never embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Write(string directory, string suite, object results)
    {
        string path = Path.Combine(directory, suite + ".json");
        File.WriteAllText(path, JsonSerializer.Serialize(results, Json) + "\n");
        Console.WriteLine($"Wrote {path}");
        return path;
    }
}
