namespace MLNetLora.Models.Templating;

/// <summary>The global functions every template sees (transformers adds <c>raise_exception</c>; <c>strftime_now</c> comes with the context).</summary>
internal static class JinjaGlobals
{
    public static IEnumerable<(string Name, JinjaCallable Function)> Functions()
    {
        yield return ("raise_exception", new JinjaCallable("raise_exception", (a, _) =>
            throw new TemplateRaisedException(a.Count > 0 ? JinjaValues.Str(a[0]) : "the template raised an exception")));
        yield return ("range", new JinjaCallable("range", (a, _) =>
        {
            long start = 0, stop, step = 1;
            if (a.Count == 1) stop = (long)a[0]!;
            else { start = (long)a[0]!; stop = (long)a[1]!; if (a.Count > 2) step = (long)a[2]!; }
            if (step == 0) throw new TemplateException("range() step cannot be zero");
            var list = new List<object?>();
            for (long i = start; step > 0 ? i < stop : i > stop; i += step) list.Add(i);
            return list;
        }));
        yield return ("namespace", new JinjaCallable("namespace", (a, kw) =>
        {
            var ns = new JinjaNamespace();
            if (a.Count > 0 && a[0] is IDictionary<string, object?> init) foreach (var (k, v) in init) ns.Attributes[k] = v;
            foreach (var (k, v) in kw) ns.Attributes[k] = v;
            return ns;
        }));
        yield return ("dict", new JinjaCallable("dict", (a, kw) =>
        {
            var d = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (a.Count > 0 && a[0] is IDictionary<string, object?> init) foreach (var (k, v) in init) d[k] = v;
            foreach (var (k, v) in kw) d[k] = v;
            return d;
        }));
    }
}
