using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MLNetLora.Training.Engine;

/// <summary>
/// Appends one JSON object per line to the metrics file: training steps, evaluations and watchdog
/// events. Each line is flushed so a killed run keeps everything up to its last step. NaN and
/// infinities are written as the strings "NaN"/"Infinity" (JSON has no literal for them).
/// </summary>
public sealed class MetricsWriter : IDisposable
{
    private readonly StreamWriter? writer;

    /// <summary>Opens <paramref name="path"/> for appending (null writes nothing).</summary>
    public MetricsWriter(string? path)
    {
        if (path is null) return;
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
    }

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
        writer.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
        writer.Flush();
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => writer?.Dispose();
}
