namespace MLNetLora.Models.Templating;

// The syntax tree of a template: statements render text, expressions compute values. Node shapes
// follow Jinja's own (jinja2/nodes.py) so its evaluation rules carry over one to one.

internal abstract record Stmt;

internal sealed record TextStmt(string Text) : Stmt;

internal sealed record OutputStmt(Expr Value) : Stmt;

internal sealed record IfStmt(IReadOnlyList<(Expr Test, IReadOnlyList<Stmt> Body)> Branches, IReadOnlyList<Stmt> Else) : Stmt;

/// <summary><c>{% for targets in iterable if filter %}</c>; <see cref="Else"/> renders when nothing was iterated.</summary>
internal sealed record ForStmt(IReadOnlyList<string> Targets, Expr Iterable, Expr? Filter, IReadOnlyList<Stmt> Body, IReadOnlyList<Stmt> Else) : Stmt;

/// <summary><c>{% set target = value %}</c>, or the block form <c>{% set target %}body{% endset %}</c> (then <see cref="Value"/> is null).</summary>
internal sealed record SetStmt(Expr Target, Expr? Value, IReadOnlyList<Stmt>? Body) : Stmt;

internal sealed record MacroStmt(string Name, IReadOnlyList<(string Name, Expr? Default)> Parameters, IReadOnlyList<Stmt> Body) : Stmt;

/// <summary><c>{% generation %}</c> (transformers' extension): marks text the assistant generates.</summary>
internal sealed record GenerationStmt(IReadOnlyList<Stmt> Body) : Stmt;

internal sealed record BreakStmt : Stmt;

internal sealed record ContinueStmt : Stmt;

internal abstract record Expr;

internal sealed record ConstExpr(object? Value) : Expr;

internal sealed record NameExpr(string Name) : Expr;

internal sealed record AttrExpr(Expr Target, string Name) : Expr;

internal sealed record ItemExpr(Expr Target, Expr Index) : Expr;

internal sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop, Expr? Step) : Expr;

internal sealed record CallExpr(Expr Callee, IReadOnlyList<Expr> Args, IReadOnlyList<(string Name, Expr Value)> Kwargs) : Expr;

internal sealed record FilterExpr(Expr Target, string Name, IReadOnlyList<Expr> Args, IReadOnlyList<(string Name, Expr Value)> Kwargs) : Expr;

internal sealed record TestExpr(Expr Target, string Name, bool Negated, IReadOnlyList<Expr> Args) : Expr;

internal sealed record UnaryExpr(string Op, Expr Operand) : Expr;

internal sealed record BinaryExpr(string Op, Expr Left, Expr Right) : Expr;

/// <summary>A comparison chain <c>a op1 b op2 c</c>, true when every link holds (as in Python).</summary>
internal sealed record CompareExpr(Expr First, IReadOnlyList<(string Op, Expr Right)> Rest) : Expr;

internal sealed record CondExpr(Expr Test, Expr Then, Expr? Else) : Expr;

internal sealed record ListExpr(IReadOnlyList<Expr> Items) : Expr;

internal sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Items) : Expr;
