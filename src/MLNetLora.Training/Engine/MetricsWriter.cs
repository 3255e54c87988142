using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MLNetLora.Training.Engine;

/// <summary>
/// Appends one JSON object per line to the metrics file: training steps, evaluations and watchdog
/// events. Each line is flushed so a killed run keeps everything up to its last step. NaN and
/// infinities are written as the strings "NaN"/"Infinity" (JSON has no literal for them). A failed
/// write (a full disk) does not throw: it is kept in <see cref="Failure"/>, later rows are dropped,
/// and the training loop stops and checkpoints; a torn last line is cut by <see cref="CutBackTo"/>.
/// </summary>
public sealed class MetricsWriter : IDisposable
{
    private readonly StreamWriter? writer;

    /// <summary>Opens <paramref name="path"/> for appending (null writes nothing); a torn last line of an earlier writer is ended first.</summary>
    public MetricsWriter(string? path)
    {
        if (path is null) return;
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        bool torn = File.Exists(path) && new FileInfo(path).Length > 0 && LastByte(path) != (byte)'\n';
        var stream = OpenForTests?.Invoke(path) ?? new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        writer = new StreamWriter(stream, new UTF8Encoding(false));
        if (torn) writer.WriteLine();
    }

    /// <summary>Fault injection: opens the metrics stream instead of the file system (a disk that fills up after N bytes).</summary>
    internal static Func<string, Stream>? OpenForTests { get; set; }

    /// <summary>The first write failure (e.g. no space left on the device), or null.</summary>
    public IOException? Failure { get; private set; }

    /// <summary>Rows that could not be written after <see cref="Failure"/>; the stop checkpoint keeps them so a resume restores them.</summary>
    public IReadOnlyList<string> Unwritten => unwritten;

    private readonly List<string> unwritten = [];

    /// <summary>Writes one row; values may be numbers, strings, booleans or null.</summary>
    public void Write(string type, params (string Key, object? Value)[] fields)
    {
        if (writer is null) return;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", type);
            foreach (var (key, value) in fields)
            {
                switch (value)
                {
                    case null: json.WriteNull(key); break;
                    case double d when !double.IsFinite(d): json.WriteString(key, d.ToString(CultureInfo.InvariantCulture)); break;
                    case double d: json.WriteNumber(key, d); break;
                    case float f: json.WriteNumber(key, f); break;
                    case long l: json.WriteNumber(key, l); break;
                    case int i: json.WriteNumber(key, i); break;
                    case bool b: json.WriteBoolean(key, b); break;
                    default: json.WriteString(key, Convert.ToString(value, CultureInfo.InvariantCulture)); break;
                }
            }
            json.WriteEndObject();
        }
        string line = Encoding.UTF8.GetString(buffer.ToArray());
        if (Failure is not null)
        {
            unwritten.Add(line);
            return;
        }
        try
        {
            writer.WriteLine(line);
            writer.Flush();
        }
        catch (IOException e)
        {
            Failure = e;
            unwritten.Add(line);
        }
    }

    /// <summary>Closes the file (a failing final flush is already in <see cref="Failure"/> or ignored).</summary>
    public void Dispose()
    {
        try
        {
            writer?.Dispose();
        }
        catch (IOException e)
        {
            Failure ??= e;
        }
    }

    /// <summary>Appends rows a stopped run could not write (kept in its checkpoint), after <see cref="CutBackTo"/>.</summary>
    /// <param name="path">The metrics file.</param>
    /// <param name="rows">JSON rows, one per line.</param>
    public static void Restore(string path, IReadOnlyList<string> rows)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count > 0) File.AppendAllLines(path, rows, new UTF8Encoding(false));
    }

    /// <summary>
    /// Cuts a metrics file back to what an uninterrupted run would hold at <paramref name="step"/>:
    /// rows of later steps (written after the checkpoint a resume continues from) and a torn last
    /// line go; the file is replaced atomically.
    /// </summary>
    /// <param name="path">The metrics file (nothing happens when it does not exist).</param>
    /// <param name="step">The checkpoint's step.</param>
    /// <returns>How many lines were dropped.</returns>
    public static int CutBackTo(string path, long step)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) return 0;
        var kept = new List<string>();
        int dropped = 0;
        foreach (string line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            long? at;
            try
            {
                using var doc = JsonDocument.Parse(line);
                at = doc.RootElement.TryGetProperty("step", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : null;
            }
            catch (JsonException)
            {
                dropped++;
                continue;
            }
            if (at > step) dropped++;
            else kept.Add(line);
        }
        if (dropped == 0) return 0;
        string tmp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        File.WriteAllLines(tmp, kept, new UTF8Encoding(false));
        File.Move(tmp, path, overwrite: true);
        return dropped;
    }

    private static byte LastByte(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        f.Position = f.Length - 1;
        return (byte)f.ReadByte();
    }
}
