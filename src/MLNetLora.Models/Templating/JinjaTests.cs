namespace MLNetLora.Models.Templating;

/// <summary>Jinja's tests (<c>x is defined</c>, <c>x is string</c>, <c>x is equalto y</c>, ...).</summary>
internal static class JinjaTests
{
    public static bool Apply(string name, object? v, List<object?> args)
    {
        object? Arg() => args.Count > 0 ? args[0] : throw new TemplateException($"the test '{name}' needs an argument");
        return name switch
        {
            "defined" => v is not Undefined,
            "undefined" => v is Undefined,
            "none" => v is null,
            "true" => v is true,
            "false" => v is false,
            "boolean" => v is bool,
            "number" => v is long or double,
            "integer" => v is long,
            "float" => v is double,
            "string" => v is string,
            "mapping" => v is IDictionary<string, object?> or JinjaNamespace,
            "iterable" => v is string or List<object?> or IDictionary<string, object?>,
            "sequence" => v is string or List<object?> or IDictionary<string, object?>,
            "callable" => v is JinjaCallable,
            "odd" => v is long o && Math.Abs(o % 2) == 1,
            "even" => v is long e && e % 2 == 0,
            "divisibleby" => v is long n && Arg() is long d && d != 0 && n % d == 0,
            "equalto" or "eq" or "==" => JinjaValues.Equals(v, Arg()),
            "ne" or "!=" => !JinjaValues.Equals(v, Arg()),
            "sameas" => ReferenceEquals(v, Arg()) || (v is bool a && Arg() is bool b && a == b) || (v is null && Arg() is null),
            "lt" or "lessthan" or "<" => JinjaValues.Compare(v, Arg()) < 0,
            "le" or "<=" => JinjaValues.Compare(v, Arg()) <= 0,
            "gt" or "greaterthan" or ">" => JinjaValues.Compare(v, Arg()) > 0,
            "ge" or ">=" => JinjaValues.Compare(v, Arg()) >= 0,
            "in" => JinjaOperators.Contains(Arg(), v),
            "lower" => v is string lo && string.Equals(lo, lo.ToLowerInvariant(), StringComparison.Ordinal),
            "upper" => v is string up && string.Equals(up, up.ToUpperInvariant(), StringComparison.Ordinal),
            _ => throw new TemplateException($"the test '{name}' is not one this renderer knows"),
        };
    }
}
