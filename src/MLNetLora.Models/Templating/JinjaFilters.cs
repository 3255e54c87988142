using System.Globalization;
using System.Net;

namespace MLNetLora.Models.Templating;

/// <summary>Jinja's built-in filters that chat templates use, plus transformers' <c>tojson</c>.</summary>
internal static class JinjaFilters
{
    public static object? Apply(string name, object? v, List<object?> args, Dictionary<string, object?> kw)
    {
        object? Arg(int i, string key, object? dflt = null) => i < args.Count ? args[i] : kw.TryGetValue(key, out var x) ? x : dflt;
        switch (name)
        {
            case "trim":
                return Arg(0, "chars") is string chars ? Str(v).Trim(chars.ToCharArray()) : Str(v).Trim();
            case "length" or "count":
                return v switch
                {
                    string s => (long)s.Length,
                    List<object?> l => (long)l.Count,
                    IDictionary<string, object?> d => (long)d.Count,
                    Undefined => 0L,
                    _ => throw new TemplateException($"{JinjaValues.TypeName(v)} has no length"),
                };
            case "upper": return Str(v).ToUpperInvariant();
            case "lower": return Str(v).ToLowerInvariant();
            case "title": return JinjaMembers.Title(Str(v));
            case "capitalize": return JinjaMembers.Capitalize(Str(v));
            case "string": return JinjaValues.Str(v);
            case "safe": return v;
            case "e" or "escape": return WebUtility.HtmlEncode(Str(v)).Replace("&#39;", "&#39;", StringComparison.Ordinal);
            case "tojson":
                long? indent = Arg(0, "indent") as long?;
                return JinjaValues.ToJson(v, indent is null ? null : (int)indent, JinjaValues.IsTruthy(kw.GetValueOrDefault("sort_keys")));
            case "default" or "d":
                bool boolean = JinjaValues.IsTruthy(Arg(1, "boolean", false));
                return v is Undefined || (boolean && !JinjaValues.IsTruthy(v)) ? Arg(0, "default_value", "") : v;
            case "first": return Items(v) is { Count: > 0 } f ? f[0] : Undefined.Instance;
            case "last": return Items(v) is { Count: > 0 } l2 ? l2[^1] : Undefined.Instance;
            case "list": return new List<object?>(Items(v));
            case "reverse": return v is string rs ? new string(rs.Reverse().ToArray()) : Enumerable.Reverse(Items(v)).ToList();
            case "join":
                var seq = Items(v).AsEnumerable();
                if (Arg(1, "attribute") is string attr) seq = seq.Select(x => JinjaMembers.GetAttribute(x, attr));
                return string.Join(Arg(0, "d", "") as string ?? "", seq.Select(JinjaValues.Str));
            case "items":
                return v is IDictionary<string, object?> dict
                    ? dict.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList()
                    : v is Undefined ? new List<object?>() : throw new TemplateException($"items needs a dict, not {JinjaValues.TypeName(v)}");
            case "dictsort":
                return v is IDictionary<string, object?> ds
                    ? ds.OrderBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase).Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList()
                    : throw new TemplateException("dictsort needs a dict");
            case "int": return ToInt(v, Arg(0, "default", 0L));
            case "float": return ToFloat(v, Arg(0, "default", 0.0));
            case "abs": return v is long al ? (object)Math.Abs(al) : Math.Abs(JinjaValues.ToDouble(v));
            case "round":
                long precision = Arg(0, "precision", 0L) as long? ?? 0;
                return Math.Round(JinjaValues.ToDouble(v), (int)precision, MidpointRounding.ToEven);
            case "replace":
                return JinjaMembers.Replace(Str(v), Str(Arg(0, "old")), Str(Arg(1, "new")), Arg(2, "count") as long? ?? -1);
            case "indent": return Indent(Str(v), Arg(0, "width", 4L), JinjaValues.IsTruthy(Arg(1, "first", false)), JinjaValues.IsTruthy(Arg(2, "blank", false)));
            case "wordcount": return (long)Str(v).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
            case "unique":
                var seen = new List<object?>();
                foreach (var x in Items(v)) if (!seen.Any(y => JinjaValues.Equals(x, y))) seen.Add(x);
                return seen;
            case "sort":
                var sorted = new List<object?>(Items(v));
                string? key = Arg(2, "attribute") as string;
                sorted.Sort((a, b) => JinjaValues.Compare(key is null ? a : JinjaMembers.GetAttribute(a, key), key is null ? b : JinjaMembers.GetAttribute(b, key)));
                if (JinjaValues.IsTruthy(Arg(0, "reverse", false))) sorted.Reverse();
                return sorted;
            case "sum":
                object? total = Arg(1, "start", 0L);
                foreach (var x in Items(v))
                    total = JinjaOperators.Binary("+", total, Arg(0, "attribute") is string sa ? JinjaMembers.GetAttribute(x, sa) : x);
                return total;
            case "min" or "max":
                var all = Items(v);
                if (all.Count == 0) return Undefined.Instance;
                return all.Aggregate((a, b) => (JinjaValues.Compare(a, b) <= 0) == (name == "min") ? a : b);
            case "map":
                if (kw.TryGetValue("attribute", out var mapAttr))
                    return Items(v).Select(x => JinjaMembers.GetAttribute(x, Str(mapAttr)) is var got && got is Undefined && kw.TryGetValue("default", out var md) ? md : JinjaMembers.GetAttribute(x, Str(mapAttr))).ToList();
                if (args.Count == 0) throw new TemplateException("map needs a filter name or attribute=");
                return Items(v).Select(x => Apply(Str(args[0]), x, args.Skip(1).ToList(), [])).ToList();
            case "select" or "reject":
                return Items(v).Where(x => Selected(x, args, 0) == (name == "select")).ToList();
            case "selectattr" or "rejectattr":
                if (args.Count == 0) throw new TemplateException($"{name} needs an attribute name");
                return Items(v).Where(x => Selected(JinjaMembers.GetAttribute(x, Str(args[0])), args, 1) == (name == "selectattr")).ToList();
            case "attr": return JinjaMembers.GetAttribute(v, Str(Arg(0, "name")));
            case "batch":
                long size = (long)Arg(0, "linecount")!;
                return Items(v).Chunk((int)size).Select(c => (object?)c.ToList()).ToList();
            case "format":
                return PercentFormat(Str(v), args);
            default:
                throw new TemplateException($"the filter '{name}' is not one this renderer knows");
        }
    }

    private static string Str(object? v) => JinjaValues.Str(v);

    private static List<object?> Items(object? v) => JinjaValues.Iterate(v);

    private static bool Selected(object? x, List<object?> args, int testAt)
    {
        if (args.Count <= testAt) return JinjaValues.IsTruthy(x);
        return JinjaTests.Apply(Str(args[testAt]), x, args.Skip(testAt + 1).ToList());
    }

    private static object? ToInt(object? v, object? dflt) => v switch
    {
        long l => l,
        bool b => b ? 1L : 0L,
        double d => (long)Math.Truncate(d),
        string s when long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long l) => l,
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => (long)Math.Truncate(d),
        _ => dflt,
    };

    private static object? ToFloat(object? v, object? dflt) => v switch
    {
        long l => (double)l,
        double d => d,
        bool b => b ? 1.0 : 0.0,
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        _ => dflt,
    };

    private static string Indent(string s, object? width, bool first, bool blank)
    {
        string pad = width is string w ? w : new string(' ', (int)(width as long? ?? 4));
        var lines = s.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (i == 0 && !first) continue;
            if (!blank && lines[i].Trim().Length == 0) continue;
            lines[i] = pad + lines[i];
        }
        return string.Join('\n', lines);
    }

    private static string PercentFormat(string format, List<object?> args)
    {
        int next = 0;
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length) { sb.Append(format[i]); continue; }
            char spec = format[++i];
            if (spec == '%') { sb.Append('%'); continue; }
            if (next >= args.Count) throw new TemplateException("format: not enough arguments");
            var a = args[next++];
            sb.Append(spec switch
            {
                's' => Str(a),
                'r' => JinjaValues.Repr(a),
                'd' or 'i' => Convert.ToString(ToInt(a, 0L), CultureInfo.InvariantCulture),
                _ => throw new TemplateException($"format: %{spec} is not supported"),
            });
        }
        return sb.ToString();
    }
}
