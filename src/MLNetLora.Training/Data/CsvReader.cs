using System.Text;

namespace MLNetLora.Training.Data;

/// <summary>A small RFC 4180 reader: quoted fields may hold separators, doubled quotes and newlines.</summary>
public static class CsvReader
{
    /// <summary>Rows of <paramref name="text"/> split on <paramref name="separator"/>; the first row is the header.</summary>
    public static IEnumerable<string[]> Parse(TextReader text, char separator)
    {
        ArgumentNullException.ThrowIfNull(text);
        var row = new List<string>();
        var field = new StringBuilder();
        bool quoted = false, any = false;
        int c;
        while ((c = text.Read()) != -1)
        {
            char ch = (char)c;
            any = true;
            if (quoted)
            {
                if (ch == '"')
                {
                    if (text.Peek() == '"') { field.Append('"'); text.Read(); }
                    else quoted = false;
                }
                else field.Append(ch);
                continue;
            }
            if (ch == '"' && field.Length == 0) quoted = true;
            else if (ch == separator) { row.Add(field.ToString()); field.Clear(); }
            else if (ch == '\n')
            {
                row.Add(field.ToString().TrimEnd('\r'));
                field.Clear();
                yield return row.ToArray();
                row.Clear();
                any = false;
            }
            else field.Append(ch);
        }
        if (any)
        {
            row.Add(field.ToString().TrimEnd('\r'));
            yield return row.ToArray();
        }
    }
}
