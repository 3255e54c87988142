namespace MLNetLora.Models.Templating;

/// <summary>Arithmetic, concatenation and comparison with Python's semantics (integer division floors, % takes the divisor's sign).</summary>
internal static class JinjaOperators
{
    public static object? Negate(object? v) => v switch
    {
        long l => (object)(-l),
        double d => -d,
        bool b => b ? -1L : 0L,
        _ => throw new TemplateException($"cannot negate {JinjaValues.TypeName(v)}"),
    };

    public static object? Binary(string op, object? a, object? b)
    {
        if (op == "~") return JinjaValues.Str(a) + JinjaValues.Str(b);
        if (op == "+")
        {
            if (a is string sa && b is string sb) return sa + sb;
            if (a is List<object?> la && b is List<object?> lb) return la.Concat(lb).ToList();
        }
        if (op == "*")
        {
            if (a is string s && b is long n) return string.Concat(Enumerable.Repeat(s, (int)Math.Max(0, n)));
            if (a is List<object?> list && b is long k) return Enumerable.Repeat(list, (int)Math.Max(0, k)).SelectMany(x => x).ToList();
        }
        if (!JinjaValues.IsNumber(a) || !JinjaValues.IsNumber(b))
            throw new TemplateException($"'{op}' cannot combine {JinjaValues.TypeName(a)} and {JinjaValues.TypeName(b)}");
        bool ints = a is long or bool && b is long or bool;
        if (ints)
        {
            long x = AsLong(a), y = AsLong(b);
            switch (op)
            {
                case "+": return x + y;
                case "-": return x - y;
                case "*": return x * y;
                case "//": CheckZero(y); return FloorDiv(x, y);
                case "%": CheckZero(y); return x - FloorDiv(x, y) * y;
                case "**" when y >= 0: return (long)Math.Pow(x, y);
            }
        }
        double p = JinjaValues.ToDouble(a), q = JinjaValues.ToDouble(b);
        switch (op)
        {
            case "+": return p + q;
            case "-": return p - q;
            case "*": return p * q;
            case "/": if (q == 0) throw new TemplateException("division by zero"); return p / q;
            case "//": if (q == 0) throw new TemplateException("division by zero"); return Math.Floor(p / q);
            case "%": if (q == 0) throw new TemplateException("division by zero"); return p - Math.Floor(p / q) * q;
            case "**": return Math.Pow(p, q);
            default: throw new TemplateException($"unknown operator '{op}'");
        }
    }

    private static long AsLong(object? v) => v is bool b ? (b ? 1 : 0) : (long)v!;

    private static void CheckZero(long y)
    {
        if (y == 0) throw new TemplateException("division by zero");
    }

    private static long FloorDiv(long x, long y)
    {
        long q = x / y;
        return (x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q;
    }

    public static bool Compare(string op, object? a, object? b) => op switch
    {
        "==" => JinjaValues.Equals(a, b),
        "!=" => !JinjaValues.Equals(a, b),
        "<" => JinjaValues.Compare(a, b) < 0,
        "<=" => JinjaValues.Compare(a, b) <= 0,
        ">" => JinjaValues.Compare(a, b) > 0,
        ">=" => JinjaValues.Compare(a, b) >= 0,
        "in" => Contains(b, a),
        "not in" => !Contains(b, a),
        _ => throw new TemplateException($"unknown comparison '{op}'"),
    };

    public static bool Contains(object? container, object? item) => container switch
    {
        string s when item is string sub => s.Contains(sub, StringComparison.Ordinal),
        string => throw new TemplateException($"'in <string>' needs a string on the left, not {JinjaValues.TypeName(item)}"),
        List<object?> list => list.Any(x => JinjaValues.Equals(x, item)),
        IDictionary<string, object?> dict => item is string key && dict.ContainsKey(key),
        JinjaNamespace ns => item is string k && ns.Attributes.ContainsKey(k),
        Undefined => false,
        null => throw new TemplateException("'in' needs a string, list or dict on the right, not None"),
        _ => false,
    };
}
