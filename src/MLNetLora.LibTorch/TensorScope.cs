namespace MLNetLora.LibTorch;

/// <summary>
/// Frees every tensor created inside it when disposed, so a training step cannot leak native memory
/// even when it throws. Scopes nest per thread; a tensor that must outlive the scope is handed out
/// with <see cref="Keep"/> (or <see cref="Tensor.MoveToOuterScope"/>).
/// </summary>
/// <example><code>
/// using (var scope = TensorScope.Begin())
/// {
///     var h = x.MatMul(w);            // freed at the end of the block
///     loss = scope.Keep(h.Sum());     // survives it
/// }
/// </code></example>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? current;
    private readonly List<Tensor> owned = [];
    private readonly TensorScope? outer;
    private bool disposed;

    private TensorScope(TensorScope? outer) => this.outer = outer;

    /// <summary>The innermost open scope on this thread, if any.</summary>
    public static TensorScope? Current => current;

    /// <summary>Opens a scope on this thread.</summary>
    public static TensorScope Begin()
    {
        var s = new TensorScope(current);
        current = s;
        return s;
    }

    /// <summary>Number of live tensors this scope will free.</summary>
    public int Count => owned.Count;

    internal void Register(Tensor t) => owned.Add(t);

    /// <summary>Moves <paramref name="t"/> to the enclosing scope (or to the caller when there is none).</summary>
    /// <returns><paramref name="t"/>, for chaining.</returns>
    public Tensor Keep(Tensor t)
    {
        if (t.Scope == this)
        {
            owned.Remove(t);
            t.Scope = outer;
            outer?.Register(t);
        }
        return t;
    }

    /// <summary>Frees every tensor still owned by this scope and closes it.</summary>
    /// <exception cref="InvalidOperationException">An inner scope is still open on this thread.</exception>
    public void Dispose()
    {
        if (disposed) return;
        if (current != this)
            throw new InvalidOperationException("TensorScopes must be disposed in reverse order of creation on the thread that opened them.");
        disposed = true;
        current = outer;
        foreach (var t in owned)
        {
            t.Scope = null;
            t.Dispose();
        }
        owned.Clear();
    }
}
