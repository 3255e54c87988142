namespace MLNetLora.Models.Templating;

// The statement half of the parser: block tags and the bodies they enclose.
internal sealed partial class JinjaParser
{
    private static readonly HashSet<string> BlockEnds =
        ["endif", "elif", "else", "endfor", "endset", "endmacro", "endgeneration", "endfilter", "endcall"];

    // Parses statements up to an ending block tag (returned in end, its BlockStart and name consumed).
    private List<Stmt> ParseBlock(out string? end)
    {
        var body = new List<Stmt>();
        while (true)
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.End:
                    end = null;
                    return body;
                case TokenKind.Text:
                    body.Add(new TextStmt(t.Value));
                    _pos++;
                    break;
                case TokenKind.VarStart:
                    _pos++;
                    body.Add(new OutputStmt(ParseTupleOrExpression()));
                    ExpectKind(TokenKind.VarEnd);
                    break;
                case TokenKind.BlockStart:
                    _pos++;
                    string name = ExpectName();
                    if (BlockEnds.Contains(name)) { end = name; return body; }
                    body.Add(ParseStatement(name));
                    break;
                default:
                    throw Fail($"unexpected '{t.Value}'");
            }
        }
    }

    private List<Stmt> ParseUntil(string endName, out string end, params string[] alsoEnds)
    {
        var body = ParseBlock(out string? found);
        if (found is null || (found != endName && !alsoEnds.Contains(found)))
            throw Fail(found is null ? $"the template ends before '{{% {endName} %}}'" : $"'{{% {found} %}}' where '{{% {endName} %}}' was expected");
        end = found;
        return body;
    }

    private Stmt ParseStatement(string name)
    {
        switch (name)
        {
            case "if": return ParseIf();
            case "for": return ParseFor();
            case "set": return ParseSet();
            case "macro": return ParseMacro();
            case "generation":
                ExpectKind(TokenKind.BlockEnd);
                var gen = ParseUntil("endgeneration", out _);
                ExpectKind(TokenKind.BlockEnd);
                return new GenerationStmt(gen);
            case "break": ExpectKind(TokenKind.BlockEnd); return new BreakStmt();
            case "continue": ExpectKind(TokenKind.BlockEnd); return new ContinueStmt();
            default: throw Fail($"'{{% {name} %}}' is not a statement this renderer supports (if, for, set, macro, generation, break, continue)");
        }
    }

    private IfStmt ParseIf()
    {
        var branches = new List<(Expr, IReadOnlyList<Stmt>)>();
        IReadOnlyList<Stmt> elseBody = [];
        var test = ParseExpression();
        while (true)
        {
            ExpectKind(TokenKind.BlockEnd);
            var body = ParseUntil("endif", out string end, "elif", "else");
            branches.Add((test, body));
            if (end == "elif") { test = ParseExpression(); continue; }
            if (end == "else")
            {
                ExpectKind(TokenKind.BlockEnd);
                elseBody = ParseUntil("endif", out _);
            }
            ExpectKind(TokenKind.BlockEnd);
            return new IfStmt(branches, elseBody);
        }
    }

    private ForStmt ParseFor()
    {
        var targets = new List<string> { ExpectName() };
        while (IsOp(",")) { _pos++; targets.Add(ExpectName()); }
        if (!IsName("in")) throw Fail("expected 'in' in a for tag");
        _pos++;
        var iterable = ParseTupleOrExpression(allowCondition: false);
        Expr? filter = null;
        if (IsName("if")) { _pos++; filter = ParseExpression(); }
        ExpectKind(TokenKind.BlockEnd);
        var body = ParseUntil("endfor", out string end, "else");
        IReadOnlyList<Stmt> elseBody = [];
        if (end == "else")
        {
            ExpectKind(TokenKind.BlockEnd);
            elseBody = ParseUntil("endfor", out _);
        }
        ExpectKind(TokenKind.BlockEnd);
        return new ForStmt(targets, iterable, filter, body, elseBody);
    }

    private SetStmt ParseSet()
    {
        Expr target = new NameExpr(ExpectName());
        if (IsOp(".")) { _pos++; target = new AttrExpr(target, ExpectName()); }
        if (IsOp("="))
        {
            _pos++;
            var value = ParseTupleOrExpression();
            ExpectKind(TokenKind.BlockEnd);
            return new SetStmt(target, value, null);
        }
        ExpectKind(TokenKind.BlockEnd);
        var body = ParseUntil("endset", out _);
        ExpectKind(TokenKind.BlockEnd);
        return new SetStmt(target, null, body);
    }

    private MacroStmt ParseMacro()
    {
        string name = ExpectName();
        ExpectOp("(");
        var parameters = new List<(string, Expr?)>();
        while (!IsOp(")"))
        {
            string p = ExpectName();
            Expr? def = null;
            if (IsOp("=")) { _pos++; def = ParseExpression(); }
            parameters.Add((p, def));
            if (!IsOp(")")) ExpectOp(",");
        }
        _pos++;
        ExpectKind(TokenKind.BlockEnd);
        var body = ParseUntil("endmacro", out _);
        ExpectKind(TokenKind.BlockEnd);
        return new MacroStmt(name, parameters, body);
    }
}
