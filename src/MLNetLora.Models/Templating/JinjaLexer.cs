using System.Globalization;
using System.Text;

namespace MLNetLora.Models.Templating;

internal enum TokenKind { Text, VarStart, VarEnd, BlockStart, BlockEnd, Name, String, Integer, Float, Operator, End }

internal readonly record struct Token(TokenKind Kind, string Value, int Line);

/// <summary>
/// Splits a template into text and tag tokens with the whitespace rules transformers renders chat
/// templates under: <c>trim_blocks</c> (the newline after a block tag goes), <c>lstrip_blocks</c>
/// (indentation before a block tag goes) and the <c>-</c> / <c>+</c> markers on tags.
/// </summary>
internal static class JinjaLexer
{
    private static readonly string[] Operators =
        ["//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"];

    public static List<Token> Tokenize(string source)
    {
        var tokens = new List<Token>();
        int pos = 0, line = 1;
        bool stripNextText = false, lineStarting = true;
        while (pos < source.Length)
        {
            int open = FindTagStart(source, pos);
            string text = source[pos..(open < 0 ? source.Length : open)];
            if (open < 0)
            {
                AddText(tokens, stripNextText ? text.TrimStart() : text, line);
                break;
            }
            char kind = source[open + 1];
            char sign = open + 2 < source.Length ? source[open + 2] : '\0';
            if (stripNextText) text = text.TrimStart();
            if (sign == '-') text = text.TrimEnd();
            else if (sign != '+' && kind != '{') text = LStripBlock(text, lineStarting);
            AddText(tokens, text, line);
            line += Count(source, pos, open);
            pos = open + 2 + (sign is '-' or '+' ? 1 : 0);
            if (kind == '#')
            {
                int close = source.IndexOf("#}", pos, StringComparison.Ordinal);
                if (close < 0) throw new TemplateException($"line {line}: a comment {{# is never closed with #}}.");
                line += Count(source, pos, close + 2);
                stripNextText = close > 0 && source[close - 1] == '-';
                pos = close + 2;
                pos = TrimBlock(source, pos, stripNextText, ref line);
                lineStarting = pos > 0 && source[pos - 1] == '\n';
                continue;
            }
            bool isVar = kind == '{';
            tokens.Add(new Token(isVar ? TokenKind.VarStart : TokenKind.BlockStart, "", line));
            pos = LexExpression(source, pos, isVar, tokens, ref line, out stripNextText);
            tokens.Add(new Token(isVar ? TokenKind.VarEnd : TokenKind.BlockEnd, "", line));
            if (!isVar) pos = TrimBlock(source, pos, stripNextText, ref line);
            lineStarting = pos > 0 && source[pos - 1] == '\n';
        }
        tokens.Add(new Token(TokenKind.End, "", line));
        return tokens;
    }

    private static int FindTagStart(string s, int from)
    {
        for (int i = s.IndexOf('{', from); i >= 0 && i + 1 < s.Length; i = s.IndexOf('{', i + 1))
            if (s[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    private static void AddText(List<Token> tokens, string text, int line)
    {
        if (text.Length > 0) tokens.Add(new Token(TokenKind.Text, text, line));
    }

    // lstrip_blocks: spaces and tabs between the start of a line and a block tag are dropped.
    private static string LStripBlock(string text, bool lineStarting)
    {
        int lineStart = text.LastIndexOf('\n') + 1;
        if (lineStart == 0 && !lineStarting) return text;
        for (int i = lineStart; i < text.Length; i++)
            if (!char.IsWhiteSpace(text[i])) return text;
        return text[..lineStart];
    }

    // trim_blocks: one newline right after a block tag is dropped (a "-" tag strips all whitespace instead).
    private static int TrimBlock(string s, int pos, bool stripped, ref int line)
    {
        if (stripped) return pos;
        if (pos < s.Length && s[pos] == '\n') { line++; return pos + 1; }
        if (pos + 1 < s.Length && s[pos] == '\r' && s[pos + 1] == '\n') { line++; return pos + 2; }
        return pos;
    }

    private static int LexExpression(string s, int pos, bool isVar, List<Token> tokens, ref int line, out bool stripAfter)
    {
        int depth = 0;
        while (true)
        {
            while (pos < s.Length && char.IsWhiteSpace(s[pos])) { if (s[pos] == '\n') line++; pos++; }
            if (pos >= s.Length) throw new TemplateException($"line {line}: a tag is never closed with {(isVar ? "}}" : "%}")}.");
            if (depth == 0)
            {
                string end = isVar ? "}}" : "%}";
                if (string.CompareOrdinal(s, pos, end, 0, 2) == 0) { stripAfter = false; return pos + 2; }
                if (s[pos] == '-' && string.CompareOrdinal(s, pos + 1, end, 0, 2) == 0) { stripAfter = true; return pos + 3; }
            }
            char c = s[pos];
            if (c is '\'' or '"') { pos = LexString(s, pos, tokens, line); continue; }
            if (char.IsDigit(c)) { pos = LexNumber(s, pos, tokens, line); continue; }
            if (char.IsLetter(c) || c == '_')
            {
                int start = pos;
                while (pos < s.Length && (char.IsLetterOrDigit(s[pos]) || s[pos] == '_')) pos++;
                tokens.Add(new Token(TokenKind.Name, s[start..pos], line));
                continue;
            }
            string? op = Operators.FirstOrDefault(o => string.CompareOrdinal(s, pos, o, 0, o.Length) == 0);
            if (op is null) throw new TemplateException($"line {line}: unexpected character '{c}' in a tag.");
            if (op is "(" or "[" or "{") depth++;
            else if (op is ")" or "]" or "}") depth = Math.Max(0, depth - 1);
            tokens.Add(new Token(TokenKind.Operator, op, line));
            pos += op.Length;
        }
    }

    private static int LexString(string s, int pos, List<Token> tokens, int line)
    {
        char quote = s[pos++];
        var sb = new StringBuilder();
        while (true)
        {
            if (pos >= s.Length) throw new TemplateException($"line {line}: a string literal is never closed.");
            char c = s[pos++];
            if (c == quote) break;
            if (c != '\\' || pos >= s.Length) { sb.Append(c); continue; }
            char e = s[pos++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case '0': sb.Append('\0'); break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case '\n': break;
                case 'u' when pos + 4 <= s.Length:
                    sb.Append((char)int.Parse(s.AsSpan(pos, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    pos += 4;
                    break;
                case 'x' when pos + 2 <= s.Length:
                    sb.Append((char)int.Parse(s.AsSpan(pos, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    pos += 2;
                    break;
                default: sb.Append('\\').Append(e); break; // Python keeps unknown escapes as written
            }
        }
        tokens.Add(new Token(TokenKind.String, sb.ToString(), line));
        return pos;
    }

    private static int LexNumber(string s, int pos, List<Token> tokens, int line)
    {
        int start = pos;
        while (pos < s.Length && (char.IsDigit(s[pos]) || s[pos] == '_')) pos++;
        bool isFloat = pos + 1 < s.Length && s[pos] == '.' && char.IsDigit(s[pos + 1]);
        if (isFloat)
        {
            pos++;
            while (pos < s.Length && char.IsDigit(s[pos])) pos++;
        }
        if (pos < s.Length && s[pos] is 'e' or 'E' && pos + 1 < s.Length && (char.IsDigit(s[pos + 1]) || s[pos + 1] is '-' or '+'))
        {
            isFloat = true;
            pos += 2;
            while (pos < s.Length && char.IsDigit(s[pos])) pos++;
        }
        tokens.Add(new Token(isFloat ? TokenKind.Float : TokenKind.Integer, s[start..pos].Replace("_", "", StringComparison.Ordinal), line));
        return pos;
    }

    private static int Count(string s, int from, int to)
    {
        int n = 0;
        for (int i = from; i < to && i < s.Length; i++) if (s[i] == '\n') n++;
        return n;
    }
}
