using System.Text;

namespace MLNetLora.Models.Templating;

/// <summary>
/// Renders a parsed template. Scoping is Jinja's: a for loop's body (and a macro's) gets its own scope,
/// so a <c>set</c> inside a loop is gone after it (templates carry values out through a namespace);
/// <c>if</c> blocks share the enclosing scope.
/// </summary>
internal sealed class JinjaInterpreter
{
    private enum Flow { Normal, Break, Continue }

    private sealed class Scope(Scope? parent)
    {
        private readonly Dictionary<string, object?> _vars = new(StringComparer.Ordinal);

        public bool TryGet(string name, out object? value)
        {
            for (var s = this; s is not null; s = s.Parent)
                if (s._vars.TryGetValue(name, out value)) return true;
            value = null;
            return false;
        }

        public void Set(string name, object? value) => _vars[name] = value;

        public Scope? Parent { get; } = parent;
    }

    private readonly List<(int Start, int End)> _generation = [];

    /// <summary>Character spans of the output that <c>{% generation %}</c> blocks wrote, in order.</summary>
    public IReadOnlyList<(int Start, int End)> GenerationSpans => _generation;

    public string Render(IReadOnlyList<Stmt> body, IReadOnlyDictionary<string, object?> context)
    {
        var globals = new Scope(null);
        foreach (var (name, fn) in JinjaGlobals.Functions()) globals.Set(name, fn);
        var scope = new Scope(globals);
        foreach (var (k, v) in context) scope.Set(k, v);
        var sb = new StringBuilder();
        if (Exec(body, scope, sb) != Flow.Normal) throw new TemplateException("break or continue outside a for loop");
        return sb.ToString();
    }

    private Flow Exec(IReadOnlyList<Stmt> body, Scope scope, StringBuilder sb)
    {
        foreach (var stmt in body)
        {
            var flow = Exec(stmt, scope, sb);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    private Flow Exec(Stmt stmt, Scope scope, StringBuilder sb)
    {
        switch (stmt)
        {
            case TextStmt t: sb.Append(t.Text); return Flow.Normal;
            case OutputStmt o: sb.Append(JinjaValues.Str(Eval(o.Value, scope))); return Flow.Normal;
            case IfStmt i:
                foreach (var (test, branch) in i.Branches)
                    if (JinjaValues.IsTruthy(Eval(test, scope))) return Exec(branch, scope, sb);
                return Exec(i.Else, scope, sb);
            case ForStmt f: return ExecFor(f, scope, sb);
            case SetStmt s:
                object? value;
                if (s.Value is not null) value = Eval(s.Value, scope);
                else
                {
                    var inner = new StringBuilder();
                    Exec(s.Body!, scope, inner);
                    value = inner.ToString();
                }
                Assign(s.Target, value, scope);
                return Flow.Normal;
            case MacroStmt m: scope.Set(m.Name, MakeMacro(m, scope)); return Flow.Normal;
            case GenerationStmt g:
                int start = sb.Length;
                var flow = Exec(g.Body, scope, sb);
                _generation.Add((start, sb.Length));
                return flow;
            case BreakStmt: return Flow.Break;
            case ContinueStmt: return Flow.Continue;
            default: throw new TemplateException($"unknown statement {stmt.GetType().Name}");
        }
    }

    private static void Assign(Expr target, object? value, Scope scope)
    {
        switch (target)
        {
            case NameExpr n: scope.Set(n.Name, value); break;
            case AttrExpr { Target: NameExpr ns } a:
                if (!scope.TryGet(ns.Name, out var obj) || obj is not JinjaNamespace space)
                    throw new TemplateException($"'{ns.Name}.{a.Name}' can be set only when {ns.Name} is a namespace()");
                space.Attributes[a.Name] = value;
                break;
            default: throw new TemplateException("only a name or namespace attribute can be set");
        }
    }

    private Flow ExecFor(ForStmt f, Scope scope, StringBuilder sb)
    {
        var source = Eval(f.Iterable, scope);
        var items = source is IDictionary<string, object?> && f.Targets.Count == 2
            ? throw new TemplateException("iterate a dict's pairs with .items() or |items")
            : JinjaValues.Iterate(source);
        if (f.Filter is not null)
        {
            var kept = new List<object?>();
            foreach (var item in items)
            {
                var probe = new Scope(scope);
                Bind(f.Targets, item, probe);
                if (JinjaValues.IsTruthy(Eval(f.Filter, probe))) kept.Add(item);
            }
            items = kept;
        }
        if (items.Count == 0) return Exec(f.Else, new Scope(scope), sb);
        for (int i = 0; i < items.Count; i++)
        {
            var body = new Scope(scope);
            Bind(f.Targets, items[i], body);
            body.Set("loop", LoopObject(items, i));
            if (Exec(f.Body, body, sb) == Flow.Break) break;
        }
        return Flow.Normal;
    }

    private static void Bind(IReadOnlyList<string> targets, object? item, Scope scope)
    {
        if (targets.Count == 1) { scope.Set(targets[0], item); return; }
        var parts = JinjaValues.Iterate(item);
        if (parts.Count != targets.Count) throw new TemplateException($"cannot unpack {parts.Count} values into {targets.Count} names");
        for (int i = 0; i < targets.Count; i++) scope.Set(targets[i], parts[i]);
    }

    private static Dictionary<string, object?> LoopObject(List<object?> items, int i) => new(StringComparer.Ordinal)
    {
        ["index"] = (long)(i + 1),
        ["index0"] = (long)i,
        ["revindex"] = (long)(items.Count - i),
        ["revindex0"] = (long)(items.Count - i - 1),
        ["first"] = i == 0,
        ["last"] = i == items.Count - 1,
        ["length"] = (long)items.Count,
        ["previtem"] = i > 0 ? items[i - 1] : Undefined.Instance,
        ["nextitem"] = i + 1 < items.Count ? items[i + 1] : Undefined.Instance,
        ["cycle"] = new JinjaCallable("loop.cycle", (args, _) => args.Count == 0 ? Undefined.Instance : args[i % args.Count]),
    };

    private JinjaCallable MakeMacro(MacroStmt m, Scope definedIn) => new(m.Name, (args, kwargs) =>
    {
        var scope = new Scope(definedIn);
        for (int p = 0; p < m.Parameters.Count; p++)
        {
            var (name, def) = m.Parameters[p];
            object? value = p < args.Count ? args[p]
                : kwargs.TryGetValue(name, out var kw) ? kw
                : def is not null ? Eval(def, scope) : Undefined.Instance;
            scope.Set(name, value);
        }
        var sb = new StringBuilder();
        Exec(m.Body, scope, sb);
        return sb.ToString();
    });

    private object? Eval(Expr e, Scope scope)
    {
        switch (e)
        {
            case ConstExpr c: return c.Value;
            case NameExpr n: return scope.TryGet(n.Name, out var v) ? v : Undefined.Instance;
            case AttrExpr a: return JinjaMembers.GetAttribute(Eval(a.Target, scope), a.Name);
            case ItemExpr i: return JinjaMembers.GetItem(Eval(i.Target, scope), Eval(i.Index, scope));
            case SliceExpr s:
                return JinjaMembers.Slice(Eval(s.Target, scope), EvalOptional(s.Start, scope), EvalOptional(s.Stop, scope), EvalOptional(s.Step, scope));
            case CallExpr call:
                var callee = Eval(call.Callee, scope);
                if (callee is not JinjaCallable fn)
                    throw new TemplateException($"{Describe(call.Callee)} is {JinjaValues.TypeName(callee)}, not something to call");
                return fn.Invoke(call.Args.Select(a => Eval(a, scope)).ToList(), EvalKwargs(call.Kwargs, scope));
            case FilterExpr f:
                return JinjaFilters.Apply(f.Name, Eval(f.Target, scope), f.Args.Select(a => Eval(a, scope)).ToList(), EvalKwargs(f.Kwargs, scope));
            case TestExpr t:
                bool result = JinjaTests.Apply(t.Name, Eval(t.Target, scope), t.Args.Select(a => Eval(a, scope)).ToList());
                return t.Negated ? !result : result;
            case UnaryExpr u:
                var operand = Eval(u.Operand, scope);
                return u.Op == "not" ? !JinjaValues.IsTruthy(operand) : JinjaOperators.Negate(operand);
            case BinaryExpr { Op: "and" } and:
                var left = Eval(and.Left, scope);
                return JinjaValues.IsTruthy(left) ? Eval(and.Right, scope) : left;
            case BinaryExpr { Op: "or" } or:
                var first = Eval(or.Left, scope);
                return JinjaValues.IsTruthy(first) ? first : Eval(or.Right, scope);
            case BinaryExpr b: return JinjaOperators.Binary(b.Op, Eval(b.Left, scope), Eval(b.Right, scope));
            case CompareExpr cmp:
                var lhs = Eval(cmp.First, scope);
                foreach (var (op, rightExpr) in cmp.Rest)
                {
                    var rhs = Eval(rightExpr, scope);
                    if (!JinjaOperators.Compare(op, lhs, rhs)) return false;
                    lhs = rhs;
                }
                return true;
            case CondExpr ce:
                return JinjaValues.IsTruthy(Eval(ce.Test, scope)) ? Eval(ce.Then, scope) : ce.Else is null ? Undefined.Instance : Eval(ce.Else, scope);
            case ListExpr l: return l.Items.Select(x => Eval(x, scope)).ToList();
            case DictExpr d:
                var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (k, val) in d.Items) dict[JinjaValues.Str(Eval(k, scope))] = Eval(val, scope);
                return dict;
            default: throw new TemplateException($"unknown expression {e.GetType().Name}");
        }
    }

    private object? EvalOptional(Expr? e, Scope scope) => e is null ? null : Eval(e, scope);

    private Dictionary<string, object?> EvalKwargs(IReadOnlyList<(string Name, Expr Value)> kwargs, Scope scope)
    {
        var d = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in kwargs) d[name] = Eval(value, scope);
        return d;
    }

    private static string Describe(Expr e) => e switch
    {
        NameExpr n => n.Name,
        AttrExpr a => Describe(a.Target) + "." + a.Name,
        _ => "the value",
    };
}
