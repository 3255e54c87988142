using System.Text.Json;

namespace MLNetLora.Models.Templating;

/// <summary>
/// A Jinja template as transformers renders chat templates: <c>trim_blocks</c> and <c>lstrip_blocks</c>
/// on, no autoescaping, <c>raise_exception</c>, <c>tojson</c> without ASCII escaping, and the
/// <c>{% generation %}</c> tag. Values follow Python's rules (what the templates are written against).
/// </summary>
public sealed class JinjaTemplate
{
    private readonly IReadOnlyList<Stmt> _body;

    private JinjaTemplate(string source, IReadOnlyList<Stmt> body)
    {
        Source = source;
        _body = body;
    }

    /// <summary>The template text.</summary>
    public string Source { get; }

    /// <summary>Whether the template marks assistant text with <c>{% generation %}</c> blocks.</summary>
    public bool HasGenerationBlocks => Contains(_body);

    /// <summary>Parses <paramref name="source"/>.</summary>
    /// <exception cref="TemplateException">The template has a syntax error or a tag this renderer does not support.</exception>
    public static JinjaTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new JinjaTemplate(source, JinjaParser.Parse(source));
    }

    /// <summary>Renders with <paramref name="context"/> (values from <see cref="FromJson"/> or plain strings, numbers, bools, lists and dictionaries).</summary>
    /// <exception cref="TemplateRaisedException">The template called <c>raise_exception</c>.</exception>
    /// <exception cref="TemplateException">Rendering failed (a type error, an unknown filter).</exception>
    public string Render(IReadOnlyDictionary<string, object?> context) => Render(context, out _);

    /// <summary>Renders and reports the character spans the <c>{% generation %}</c> blocks wrote.</summary>
    /// <exception cref="TemplateRaisedException">The template called <c>raise_exception</c>.</exception>
    /// <exception cref="TemplateException">Rendering failed.</exception>
    public string Render(IReadOnlyDictionary<string, object?> context, out IReadOnlyList<(int Start, int End)> generationSpans)
    {
        ArgumentNullException.ThrowIfNull(context);
        var interpreter = new JinjaInterpreter();
        var converted = context.ToDictionary(kv => kv.Key, kv => FromClr(kv.Value), StringComparer.Ordinal);
        string text = interpreter.Render(_body, converted);
        generationSpans = interpreter.GenerationSpans;
        return text;
    }

    /// <summary>Converts a JSON value into a template value (objects keep their key order; integers stay integers).</summary>
    public static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().Aggregate(new Dictionary<string, object?>(StringComparer.Ordinal), (d, p) => { d[p.Name] = FromJson(p.Value); return d; }),
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out long l) && !e.GetRawText().Contains('.', StringComparison.Ordinal) && !e.GetRawText().Contains('e', StringComparison.OrdinalIgnoreCase) ? l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    private static object? FromClr(object? v) => v switch
    {
        null or string or bool or long or double or Undefined or JinjaCallable => v,
        int i => (long)i,
        float f => (double)f,
        JsonElement je => FromJson(je),
        IReadOnlyDictionary<string, string> sd => sd.ToDictionary(kv => kv.Key, kv => (object?)kv.Value, StringComparer.Ordinal),
        IDictionary<string, object?> d => d.ToDictionary(kv => kv.Key, kv => FromClr(kv.Value), StringComparer.Ordinal),
        IEnumerable<object?> list => list.Select(FromClr).ToList(),
        Func<string, string> f1 => new JinjaCallable("function", (a, _) => f1(a.Count > 0 ? JinjaValues.Str(a[0]) : "")),
        _ => throw new ArgumentException($"A template value cannot be a {v.GetType().Name}.", nameof(v)),
    };

    private static bool Contains(IEnumerable<Stmt> body) => body.Any(s => s switch
    {
        GenerationStmt => true,
        IfStmt i => i.Branches.Any(b => Contains(b.Body)) || Contains(i.Else),
        ForStmt f => Contains(f.Body) || Contains(f.Else),
        MacroStmt m => Contains(m.Body),
        SetStmt { Body: { } b } => Contains(b),
        _ => false,
    });
}
