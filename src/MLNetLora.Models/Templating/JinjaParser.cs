using System.Globalization;

namespace MLNetLora.Models.Templating;

/// <summary>
/// Recursive-descent parser with Jinja's precedence: conditional, <c>or</c>, <c>and</c>, <c>not</c>,
/// comparisons and <c>in</c>, <c>+ -</c>, <c>~</c>, <c>* / // %</c>, <c>**</c>, unary minus, then
/// primaries with their attribute, item and call postfixes and the filters and tests bound to them.
/// </summary>
internal sealed partial class JinjaParser
{
    private readonly List<Token> _tokens;
    private int _pos;

    private JinjaParser(List<Token> tokens) => _tokens = tokens;

    public static IReadOnlyList<Stmt> Parse(string source)
    {
        var parser = new JinjaParser(JinjaLexer.Tokenize(source));
        var body = parser.ParseBlock(out string? end);
        if (end is not null) throw parser.Fail($"'{{% {end} %}}' has no block to end");
        return body;
    }

    private Token Current => _tokens[_pos];

    private TemplateException Fail(string what) => new($"line {Current.Line}: {what}.");

    private bool IsOp(string op) => Current.Kind == TokenKind.Operator && Current.Value == op;

    private bool IsName(string name) => Current.Kind == TokenKind.Name && Current.Value == name;

    private void ExpectOp(string op)
    {
        if (!IsOp(op)) throw Fail($"expected '{op}', found '{Current.Value}'");
        _pos++;
    }

    private string ExpectName()
    {
        if (Current.Kind != TokenKind.Name) throw Fail($"expected a name, found '{Current.Value}'");
        return _tokens[_pos++].Value;
    }

    private void ExpectKind(TokenKind kind)
    {
        if (Current.Kind != kind) throw Fail($"expected the end of the tag, found '{Current.Value}'");
        _pos++;
    }

    // An expression, or a bare tuple "a, b" (as Jinja allows in output and set tags).
    private Expr ParseTupleOrExpression(bool allowCondition = true)
    {
        var first = allowCondition ? ParseExpression() : ParseOr();
        if (!IsOp(",")) return first;
        var items = new List<Expr> { first };
        while (IsOp(","))
        {
            _pos++;
            if (Current.Kind is TokenKind.VarEnd or TokenKind.BlockEnd) break;
            items.Add(allowCondition ? ParseExpression() : ParseOr());
        }
        return new ListExpr(items);
    }

    private Expr ParseExpression()
    {
        var expr = ParseOr();
        while (IsName("if"))
        {
            _pos++;
            var test = ParseOr();
            Expr? otherwise = null;
            if (IsName("else")) { _pos++; otherwise = ParseExpression(); }
            expr = new CondExpr(test, expr, otherwise);
        }
        return expr;
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (IsName("or")) { _pos++; left = new BinaryExpr("or", left, ParseAnd()); }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (IsName("and")) { _pos++; left = new BinaryExpr("and", left, ParseNot()); }
        return left;
    }

    private Expr ParseNot()
    {
        if (IsName("not")) { _pos++; return new UnaryExpr("not", ParseNot()); }
        return ParseCompare();
    }

    private static readonly HashSet<string> CompareOps = ["==", "!=", "<", ">", "<=", ">="];

    private Expr ParseCompare()
    {
        var first = ParseAdd();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && CompareOps.Contains(Current.Value))
            {
                string op = _tokens[_pos++].Value;
                rest.Add((op, ParseAdd()));
            }
            else if (IsName("in")) { _pos++; rest.Add(("in", ParseAdd())); }
            else if (IsName("not") && _tokens[_pos + 1].Kind == TokenKind.Name && _tokens[_pos + 1].Value == "in")
            {
                _pos += 2;
                rest.Add(("not in", ParseAdd()));
            }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(first, rest);
    }

    private Expr ParseAdd()
    {
        var left = ParseConcat();
        while (IsOp("+") || IsOp("-")) { string op = _tokens[_pos++].Value; left = new BinaryExpr(op, left, ParseConcat()); }
        return left;
    }

    private Expr ParseConcat()
    {
        var left = ParseMul();
        while (IsOp("~")) { _pos++; left = new BinaryExpr("~", left, ParseMul()); }
        return left;
    }

    private Expr ParseMul()
    {
        var left = ParsePow();
        while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) { string op = _tokens[_pos++].Value; left = new BinaryExpr(op, left, ParsePow()); }
        return left;
    }

    private Expr ParsePow()
    {
        var left = ParseUnary(withFilter: true);
        while (IsOp("**")) { _pos++; left = new BinaryExpr("**", left, ParseUnary(withFilter: true)); }
        return left;
    }

    private Expr ParseUnary(bool withFilter)
    {
        Expr node;
        if (IsOp("-")) { _pos++; node = new UnaryExpr("-", ParseUnary(false)); }
        else if (IsOp("+")) { _pos++; node = ParseUnary(false); }
        else node = ParsePostfix(ParsePrimary());
        return withFilter ? ParseFilters(node) : node;
    }

    private Expr ParsePrimary()
    {
        var t = Current;
        switch (t.Kind)
        {
            case TokenKind.Name:
                _pos++;
                return t.Value switch
                {
                    "true" or "True" => new ConstExpr(true),
                    "false" or "False" => new ConstExpr(false),
                    "none" or "None" => new ConstExpr(null),
                    _ => new NameExpr(t.Value),
                };
            case TokenKind.String:
                string s = t.Value;
                _pos++;
                while (Current.Kind == TokenKind.String) s += _tokens[_pos++].Value;
                return new ConstExpr(s);
            case TokenKind.Integer:
                _pos++;
                return new ConstExpr(long.Parse(t.Value, CultureInfo.InvariantCulture));
            case TokenKind.Float:
                _pos++;
                return new ConstExpr(double.Parse(t.Value, CultureInfo.InvariantCulture));
            case TokenKind.Operator when t.Value == "(":
                _pos++;
                if (IsOp(")")) { _pos++; return new ListExpr([]); }
                var inner = ParseExpression();
                if (IsOp(","))
                {
                    var items = new List<Expr> { inner };
                    while (IsOp(",")) { _pos++; if (IsOp(")")) break; items.Add(ParseExpression()); }
                    inner = new ListExpr(items);
                }
                ExpectOp(")");
                return inner;
            case TokenKind.Operator when t.Value == "[":
                _pos++;
                var list = new List<Expr>();
                while (!IsOp("]")) { list.Add(ParseExpression()); if (!IsOp("]")) ExpectOp(","); }
                _pos++;
                return new ListExpr(list);
            case TokenKind.Operator when t.Value == "{":
                _pos++;
                var pairs = new List<(Expr, Expr)>();
                while (!IsOp("}"))
                {
                    var key = ParseExpression();
                    ExpectOp(":");
                    pairs.Add((key, ParseExpression()));
                    if (!IsOp("}")) ExpectOp(",");
                }
                _pos++;
                return new DictExpr(pairs);
            default:
                throw Fail($"unexpected '{t.Value}' where a value was expected");
        }
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            if (IsOp("."))
            {
                _pos++;
                if (Current.Kind == TokenKind.Integer) node = new ItemExpr(node, new ConstExpr(long.Parse(_tokens[_pos++].Value, CultureInfo.InvariantCulture)));
                else node = new AttrExpr(node, ExpectName());
            }
            else if (IsOp("[")) node = ParseSubscript(node);
            else if (IsOp("(")) node = ParseCall(node);
            else return node;
        }
    }

    private Expr ParseSubscript(Expr node)
    {
        _pos++;
        Expr? start = null, stop = null, step = null;
        if (!IsOp(":")) start = ParseExpression();
        if (!IsOp(":")) { ExpectOp("]"); return new ItemExpr(node, start!); }
        _pos++;
        if (!IsOp(":") && !IsOp("]")) stop = ParseExpression();
        if (IsOp(":")) { _pos++; if (!IsOp("]")) step = ParseExpression(); }
        ExpectOp("]");
        return new SliceExpr(node, start, stop, step);
    }

    private (List<Expr> Args, List<(string, Expr)> Kwargs) ParseArguments()
    {
        ExpectOp("(");
        var args = new List<Expr>();
        var kwargs = new List<(string, Expr)>();
        while (!IsOp(")"))
        {
            if (Current.Kind == TokenKind.Name && _tokens[_pos + 1].Kind == TokenKind.Operator && _tokens[_pos + 1].Value == "=")
            {
                string name = _tokens[_pos].Value;
                _pos += 2;
                kwargs.Add((name, ParseExpression()));
            }
            else args.Add(ParseExpression());
            if (!IsOp(")")) ExpectOp(",");
        }
        _pos++;
        return (args, kwargs);
    }

    private CallExpr ParseCall(Expr callee)
    {
        var (args, kwargs) = ParseArguments();
        return new CallExpr(callee, args, kwargs);
    }

    private Expr ParseFilters(Expr node)
    {
        while (true)
        {
            if (IsOp("|"))
            {
                _pos++;
                string name = ExpectName();
                while (IsOp(".")) { _pos++; name += "." + ExpectName(); }
                var (args, kwargs) = IsOp("(") ? ParseArguments() : ([], []);
                node = new FilterExpr(node, name, args, kwargs);
            }
            else if (IsName("is"))
            {
                _pos++;
                bool negated = false;
                if (IsName("not")) { _pos++; negated = true; }
                string name = ExpectName();
                var args = new List<Expr>();
                if (IsOp("(")) args = ParseArguments().Args;
                else if (StartsTestArgument()) args.Add(ParsePostfix(ParsePrimary()));
                node = new TestExpr(node, name, negated, args);
            }
            else if (IsOp("(")) node = ParseCall(node);
            else return node;
        }
    }

    // Jinja takes one bare argument after a test name ("is divisibleby 3", "is sameas none").
    private bool StartsTestArgument() => Current.Kind switch
    {
        TokenKind.Name => Current.Value is not ("else" or "or" or "and" or "if" or "is" or "not" or "in"),
        TokenKind.String or TokenKind.Integer or TokenKind.Float => true,
        TokenKind.Operator => Current.Value is "[" or "{",
        _ => false,
    };
}
