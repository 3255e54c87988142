using System.Text;

namespace MLNetLora.Models.Templating;

/// <summary>
/// <c>obj.name</c>, <c>obj[key]</c> and slices, and the Python methods chat templates call on strings,
/// dicts and lists (<c>content.split('&lt;/think&gt;')</c>, <c>message.get('x')</c>, <c>items()</c>).
/// </summary>
internal static class JinjaMembers
{
    private static readonly HashSet<string> DictMethods = ["get", "items", "keys", "values"];

    public static object? GetAttribute(object? obj, string name) => obj switch
    {
        IDictionary<string, object?> dict when DictMethods.Contains(name) => DictMethod(dict, name),
        IDictionary<string, object?> dict => dict.TryGetValue(name, out var v) ? v : Undefined.Instance,
        JinjaNamespace ns => ns.Attributes.TryGetValue(name, out var v) ? v : Undefined.Instance,
        string s => StringMethod(s, name),
        List<object?> list => ListMethod(list, name),
        _ => Undefined.Instance,
    };

    public static object? GetItem(object? obj, object? key)
    {
        switch (obj)
        {
            case List<object?> list when key is long or bool:
                long i = key is bool b ? (b ? 1 : 0) : (long)key;
                if (i < 0) i += list.Count;
                return i >= 0 && i < list.Count ? list[(int)i] : Undefined.Instance;
            case string s when key is long k:
                if (k < 0) k += s.Length;
                return k >= 0 && k < s.Length ? s[(int)k].ToString() : Undefined.Instance;
            case IDictionary<string, object?> dict when key is string name:
                return dict.TryGetValue(name, out var v) ? v : Undefined.Instance;
            case JinjaNamespace or IDictionary<string, object?> when key is string name:
                return GetAttribute(obj, name);
            default:
                return Undefined.Instance;
        }
    }

    public static object? Slice(object? obj, object? start, object? stop, object? step)
    {
        var items = obj switch
        {
            List<object?> list => list,
            string s => s.Select(c => (object?)c.ToString()).ToList(),
            Undefined => [],
            _ => throw new TemplateException($"{JinjaValues.TypeName(obj)} cannot be sliced"),
        };
        long n = items.Count;
        long st = step is null ? 1 : (long)step;
        if (st == 0) throw new TemplateException("slice step cannot be zero");
        long Clamp(object? v, long dflt)
        {
            if (v is null) return dflt;
            long x = (long)v;
            if (x < 0) x += n;
            return st > 0 ? Math.Clamp(x, 0, n) : Math.Clamp(x, -1, n - 1);
        }
        long from = Clamp(start, st > 0 ? 0 : n - 1), to = Clamp(stop, st > 0 ? n : -1);
        var result = new List<object?>();
        for (long i = from; st > 0 ? i < to : i > to; i += st) result.Add(items[(int)i]);
        return obj is string ? string.Concat(result.Cast<string>()) : result;
    }

    private static JinjaCallable DictMethod(IDictionary<string, object?> dict, string name) => name switch
    {
        "get" => new("get", (a, _) => a.Count > 0 && a[0] is string k && dict.TryGetValue(k, out var v) ? v : a.Count > 1 ? a[1] : null),
        "items" => new("items", (_, _) => dict.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList()),
        "keys" => new("keys", (_, _) => dict.Keys.Cast<object?>().ToList()),
        _ => new("values", (_, _) => dict.Values.ToList()),
    };

    private static object? ListMethod(List<object?> list, string name) => name switch
    {
        "append" => new JinjaCallable("append", (a, _) => { list.Add(a.Count > 0 ? a[0] : null); return null; }),
        "pop" => new JinjaCallable("pop", (a, _) =>
        {
            if (list.Count == 0) throw new TemplateException("pop from an empty list");
            int i = a.Count > 0 ? (int)(long)a[0]! : list.Count - 1;
            if (i < 0) i += list.Count;
            var v = list[i];
            list.RemoveAt(i);
            return v;
        }),
        "index" => new JinjaCallable("index", (a, _) => (long)list.FindIndex(x => JinjaValues.Equals(x, a[0]))),
        "count" => new JinjaCallable("count", (a, _) => (long)list.Count(x => JinjaValues.Equals(x, a[0]))),
        _ => Undefined.Instance,
    };

    private static string? Chars(List<object?> a) => a.Count > 0 && a[0] is string c ? c : null;

    private static object? StringMethod(string s, string name) => name switch
    {
        "strip" => new JinjaCallable(name, (a, _) => Chars(a) is string c ? s.Trim(c.ToCharArray()) : s.Trim()),
        "lstrip" => new JinjaCallable(name, (a, _) => Chars(a) is string c ? s.TrimStart(c.ToCharArray()) : s.TrimStart()),
        "rstrip" => new JinjaCallable(name, (a, _) => Chars(a) is string c ? s.TrimEnd(c.ToCharArray()) : s.TrimEnd()),
        "upper" => new JinjaCallable(name, (_, _) => s.ToUpperInvariant()),
        "lower" => new JinjaCallable(name, (_, _) => s.ToLowerInvariant()),
        "title" => new JinjaCallable(name, (_, _) => Title(s)),
        "capitalize" => new JinjaCallable(name, (_, _) => Capitalize(s)),
        "startswith" => new JinjaCallable(name, (a, _) => Affixes(a).Any(p => s.StartsWith(p, StringComparison.Ordinal))),
        "endswith" => new JinjaCallable(name, (a, _) => Affixes(a).Any(p => s.EndsWith(p, StringComparison.Ordinal))),
        "split" => new JinjaCallable(name, (a, kw) => Split(s, a.Count > 0 ? a[0] as string : kw.GetValueOrDefault("sep") as string,
            a.Count > 1 ? (long)a[1]! : kw.GetValueOrDefault("maxsplit") as long? ?? -1)),
        "splitlines" => new JinjaCallable(name, (_, _) => s.Split('\n').Select(l => (object?)l.TrimEnd('\r')).ToList() is var lines && s.EndsWith('\n') ? lines[..^1] : lines),
        "replace" => new JinjaCallable(name, (a, _) => Replace(s, (string)a[0]!, (string)a[1]!, a.Count > 2 ? (long)a[2]! : -1)),
        "find" => new JinjaCallable(name, (a, _) => (long)s.IndexOf((string)a[0]!, StringComparison.Ordinal)),
        "count" => new JinjaCallable(name, (a, _) => (long)CountOf(s, (string)a[0]!)),
        "join" => new JinjaCallable(name, (a, _) => string.Join(s, JinjaValues.Iterate(a[0]).Select(JinjaValues.Str))),
        "isdigit" => new JinjaCallable(name, (_, _) => s.Length > 0 && s.All(char.IsDigit)),
        "isspace" => new JinjaCallable(name, (_, _) => s.Length > 0 && s.All(char.IsWhiteSpace)),
        _ => Undefined.Instance,
    };

    private static IEnumerable<string> Affixes(List<object?> a) => a.Count == 0 ? [] : a[0] switch
    {
        string p => [p],
        List<object?> many => many.OfType<string>(),
        _ => [],
    };

    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool prevLetter = false;
        foreach (char c in s)
        {
            sb.Append(prevLetter ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            prevLetter = char.IsLetter(c);
        }
        return sb.ToString();
    }

    public static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    private static List<object?> Split(string s, string? sep, long max)
    {
        if (sep is null)
        {
            var words = s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return words.Cast<object?>().ToList();
        }
        if (sep.Length == 0) throw new TemplateException("split() got an empty separator");
        var parts = new List<object?>();
        int from = 0;
        while (max < 0 || parts.Count < max)
        {
            int at = s.IndexOf(sep, from, StringComparison.Ordinal);
            if (at < 0) break;
            parts.Add(s[from..at]);
            from = at + sep.Length;
        }
        parts.Add(s[from..]);
        return parts;
    }

    public static string Replace(string s, string old, string replacement, long count)
    {
        if (count < 0) return s.Replace(old, replacement, StringComparison.Ordinal);
        var sb = new StringBuilder();
        int from = 0;
        for (long n = 0; n < count; n++)
        {
            int at = s.IndexOf(old, from, StringComparison.Ordinal);
            if (at < 0) break;
            sb.Append(s, from, at - from).Append(replacement);
            from = at + old.Length;
        }
        return sb.Append(s, from, s.Length - from).ToString();
    }

    private static int CountOf(string s, string sub)
    {
        if (sub.Length == 0) return s.Length + 1;
        int n = 0;
        for (int i = s.IndexOf(sub, StringComparison.Ordinal); i >= 0; i = s.IndexOf(sub, i + sub.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
