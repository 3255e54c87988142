using MLNetLora.Models.Templating;

namespace MLNetLora.Tests.Templating;

/// <summary>Python-Jinja rules the chat templates rely on, each checked on a small template.</summary>
public sealed class JinjaSemanticsTests
{
    private static string Render(string source, Dictionary<string, object?>? context = null) =>
        JinjaTemplate.Parse(source).Render(context ?? []);

    [Test]
    public void Set_InsideForLoop_DoesNotLeakButNamespaceDoes()
    {
        Assert.That(Render("{% set x = 1 %}{% for i in [1, 2] %}{% set x = i %}{% endfor %}{{ x }}"), Is.EqualTo("1"));
        Assert.That(Render("{% set ns = namespace(x=1) %}{% for i in [1, 2] %}{% set ns.x = i %}{% endfor %}{{ ns.x }}"), Is.EqualTo("2"));
    }

    [Test]
    public void Values_PrintAsPythonStrDoes()
    {
        Assert.That(Render("{{ 22.0 }} {{ 1e-05 }} {{ none }} {{ true }} {{ [1, 'a', none] }} {{ {'k': 'it\\'s'} }}"),
            Is.EqualTo("22.0 1e-05 None True [1, 'a', None] {'k': \"it's\"}"));
        Assert.That(Render("{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }}"), Is.EqualTo("3 -4 2 3.5 1024"));
    }

    [Test]
    public void EmptyStringComparedToFalse_IsUnequalAsInPython()
    {
        // Llama 2's template tests "system_message != false"; Python's Jinja says '' != False.
        Assert.That(Render("{{ '' != false }} {{ 0 == false }} {{ 1 == 1.0 }}"), Is.EqualTo("True True True"));
    }

    [Test]
    public void ToJson_WritesPythonJsonDumps()
    {
        var context = new Dictionary<string, object?> { ["v"] = new Dictionary<string, object?> { ["a"] = 1L, ["b"] = new List<object?> { 2.0, "é\"\n" } } };
        Assert.That(Render("{{ v | tojson }}", context), Is.EqualTo("{\"a\": 1, \"b\": [2.0, \"é\\\"\\n\"]}"));
        Assert.That(Render("{{ v | tojson(indent=2) }}", context), Is.EqualTo("{\n  \"a\": 1,\n  \"b\": [\n    2.0,\n    \"é\\\"\\n\"\n  ]\n}"));
    }

    [Test]
    public void SlicesAndStringMethods_FollowPython()
    {
        var context = new Dictionary<string, object?> { ["m"] = new List<object?> { 1L, 2L, 3L, 4L } };
        Assert.That(Render("{{ m[::-1] }} {{ m[1:] }} {{ m[-1] }} {{ m[:-1] }} {{ m[::2] }}", context), Is.EqualTo("[4, 3, 2, 1] [2, 3, 4] 4 [1, 2, 3] [1, 3]"));
        Assert.That(Render("{{ 'a</think>\\n\\nb'.split('</think>')[-1].lstrip('\\n') }}|{{ '  x '.strip() }}|{{ 'abc'.startswith(('x', 'a')) }}"),
            Is.EqualTo("b|x|True"));
    }

    [Test]
    public void WhitespaceControl_TrimAndLstripBlocksAsTransformers()
    {
        // trim_blocks drops the newline after a block tag; lstrip_blocks the indentation before it; "-" strips all.
        Assert.That(Render("{% if true %}\n    a\n    {% endif %}\nb"), Is.EqualTo("    a\nb"));
        Assert.That(Render("x  {%- if true -%}  y  {%- endif -%}  z"), Is.EqualTo("xyz"));
        Assert.That(Render("{{ 'a' }}\n{{ 'b' }}"), Is.EqualTo("a\nb"), "output tags keep their newlines");
    }

    [Test]
    public void LoopVariables_AndFilters()
    {
        var context = new Dictionary<string, object?>
        {
            ["ms"] = new List<object?>
            {
                new Dictionary<string, object?> { ["role"] = "system", ["content"] = "S" },
                new Dictionary<string, object?> { ["role"] = "user", ["content"] = "U" },
            },
        };
        Assert.That(Render("{% for m in ms %}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ m.role | upper }};{% endfor %}", context),
            Is.EqualTo("0TrueFalseSYSTEM;1FalseTrueUSER;"));
        Assert.That(Render("{{ (ms | selectattr('role', 'equalto', 'user') | list | first).content }} {{ ms | map(attribute='role') | join(',') }} {{ ms | length }}", context),
            Is.EqualTo("U system,user 2"));
        Assert.That(Render("{{ x is defined }} {{ x | default('d') }} {{ 'a' in 'cat' }} {{ 'role' in ms[0] }} {{ ms[5] is defined }}", context),
            Is.EqualTo("False d True True False"));
    }

    [Test]
    public void Macro_WithDefaults()
    {
        Assert.That(Render("{% macro f(a, b='B') %}{{ a }}{{ b }}{% endmacro %}{{ f('x') }}{{ f('y', b='z') }}"), Is.EqualTo("xByz"));
    }

    [Test]
    public void RaiseException_IsTheTemplatesOwnMessage()
    {
        var ex = Assert.Throws<TemplateRaisedException>(() => Render("{{ raise_exception('Roles must alternate') }}"));
        Assert.That(ex!.Message, Is.EqualTo("Roles must alternate"));
    }

    [Test]
    public void Parse_UnsupportedTagOrBrokenSyntax_SaysWhereAndWhat()
    {
        var ex = Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("a\n{% filter upper %}x{% endfilter %}"));
        Assert.That(ex!.Message, Does.Contain("line 2").And.Contain("filter"));
        ex = Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("{% if x %}never closed"));
        Assert.That(ex!.Message, Does.Contain("endif"));
        ex = Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("{{ x | nosuchfilter }}").Render(new Dictionary<string, object?>()));
        Assert.That(ex!.Message, Does.Contain("nosuchfilter"));
    }
}
