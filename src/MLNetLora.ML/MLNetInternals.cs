using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MLNetLora.ML;

/// <summary>
/// The only place that touches ML.NET internals, by reflection: writing a transformer into a model
/// zip (<c>ModelSaveContext</c>), registering its loader (<c>LoadableClassAttribute</c>,
/// <c>ComponentCatalog.AddClass</c>), reading it back (<c>ModelLoadContext</c>), reaching a catalog's
/// environment and its cancellation flag. A third-party assembly has no public route for these
/// (see docs/mlnet.md). Tested with Microsoft.ML 5.0.1 on .NET 10; a missing member fails with a
/// message that names it and that version.
/// </summary>
internal static class MLNetInternals
{
    private const string TestedWith = "Microsoft.ML 5.0.1";
    private const BindingFlags Any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;
    private static readonly Assembly Core = typeof(IHostEnvironment).Assembly;

    /// <summary>
    /// The loader-assembly name written into saved models. ML.NET's loader calls <c>Assembly.Load</c>
    /// on it before it looks up the loader. <see cref="ResolveLoaderAlias"/> (installed by
    /// MLNetLoraCatalog.Register) makes it resolve; in a process that never called Register it
    /// does not resolve, so Model.Load fails naming the call that is missing, instead of ML.NET's
    /// "Couldn't load model: 'TransformerChain/Transform_001'".
    /// </summary>
    public const string LoaderAssemblyAlias = "Call-MLNetLoraCatalog.Register-before-Model.Load";

    private static int aliasInstalled;

    /// <summary>
    /// Makes <see cref="LoaderAssemblyAlias"/> resolve (once per process) to an empty in-memory assembly
    /// of that name: the runtime requires the resolved assembly to carry the requested name, and ML.NET
    /// only scans it for loader attributes, of which it has none; the loaders are registered directly.
    /// </summary>
    public static void ResolveLoaderAlias()
    {
        if (Interlocked.Exchange(ref aliasInstalled, 1) == 1) return;
        // The runtime refuses dynamic (Run) assemblies here, so the empty assembly is emitted to bytes and loaded.
        var builder = new System.Reflection.Emit.PersistedAssemblyBuilder(new AssemblyName(LoaderAssemblyAlias), typeof(object).Assembly);
        builder.DefineDynamicModule(LoaderAssemblyAlias + ".dll");
        using var image = new MemoryStream();
        builder.Save(image);
        byte[] bytes = image.ToArray();
        Assembly? alias = null;
        Assembly? Resolve(System.Runtime.Loader.AssemblyLoadContext context, AssemblyName name)
        {
            if (!string.Equals(name.Name, LoaderAssemblyAlias, StringComparison.OrdinalIgnoreCase)) return null;
            lock (bytes) return alias ??= context.LoadFromStream(new MemoryStream(bytes));
        }
        System.Runtime.Loader.AssemblyLoadContext.Default.Resolving += Resolve;
        var own = System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(typeof(MLNetInternals).Assembly);
        if (own is not null && own != System.Runtime.Loader.AssemblyLoadContext.Default) own.Resolving += Resolve;
    }

    /// <summary>The environment (the MLContext's) behind a catalog such as <c>mlContext.Transforms</c>.</summary>
    public static IHostEnvironment EnvironmentOf(object catalog)
    {
        var iface = CoreType(typeof(MLContext).Assembly, "Microsoft.ML.Data.IInternalCatalog");
        var prop = iface.GetProperty("Environment", Any) ?? throw Missing("IInternalCatalog.Environment");
        return (IHostEnvironment)(prop.GetValue(catalog) ?? throw Missing("IInternalCatalog.Environment (null)"));
    }

    /// <summary>Whether the environment's internal cancellation flag (<c>ICancelable.IsCanceled</c>) is set (false when the flag cannot be read).</summary>
    public static bool IsCanceled(IHostEnvironment env)
    {
        var iface = Core.GetType("Microsoft.ML.Runtime.ICancelable");
        var prop = iface?.GetProperty("IsCanceled", Any);
        return prop is not null && iface!.IsInstanceOfType(env) && (bool)prop.GetValue(env)!;
    }

    /// <summary>ML.NET's GPU convention: <c>MLContext.GpuDeviceId</c> and <c>MLContext.FallbackToCpu</c> (internal <c>IHostEnvironmentInternal</c>); (null, true) when they cannot be read.</summary>
    public static (int? GpuDeviceId, bool FallbackToCpu) GpuSettings(IHostEnvironment env)
    {
        var iface = Core.GetType("Microsoft.ML.Runtime.IHostEnvironmentInternal");
        if (iface is null || !iface.IsInstanceOfType(env)) return (null, true);
        var gpu = iface.GetProperty("GpuDeviceId", Any)?.GetValue(env) as int?;
        var fallback = iface.GetProperty("FallbackToCpu", Any)?.GetValue(env) as bool? ?? true;
        return (gpu, fallback);
    }

    /// <summary>Writes the version header of a transformer being saved; entries follow with <see cref="WriteEntry"/>.</summary>
    public static void BeginSave(ModelSaveContext ctx, string signature, uint version, string loaderSignature)
    {
        var t = ctx.GetType();
        Call(ctx, t, "CheckAtModel", []);
        var viType = CoreType(Core, "Microsoft.ML.VersionInfo");
        var vi = Activator.CreateInstance(viType, Any, null,
            [signature, version, version, version, LoaderAssemblyAlias, loaderSignature, null], null)
            ?? throw Missing("VersionInfo constructor");
        Call(ctx, t, "SetVersionInfo", [vi]);
    }

    /// <summary>Writes one named entry of the transformer's folder in the zip, streaming (no size limit of a byte array).</summary>
    public static void WriteEntry(ModelSaveContext ctx, string name, Action<Stream> write)
    {
        var save = ctx.GetType().GetMethod("SaveBinaryStream", Any, [typeof(string), typeof(Action<BinaryWriter>)]) ?? throw Missing("ModelSaveContext.SaveBinaryStream");
        save.Invoke(ctx, [name, (Action<BinaryWriter>)(w => { w.Flush(); write(w.BaseStream); })]);
    }

    /// <summary>Reads one named entry written by <see cref="WriteEntry"/> from a <c>ModelLoadContext</c>; false when it is absent.</summary>
    public static bool TryReadEntry(object loadContext, string name, Action<Stream> read)
    {
        var m = loadContext.GetType().GetMethod("TryLoadBinaryStream", Any, [typeof(string), typeof(Action<BinaryReader>)])
            ?? throw Missing("ModelLoadContext.TryLoadBinaryStream");
        return (bool)m.Invoke(loadContext, [name, (Action<BinaryReader>)(r => read(r.BaseStream))])!;
    }

    /// <summary>A small entry as bytes.</summary>
    /// <exception cref="InvalidOperationException">The entry is absent.</exception>
    public static byte[] Read(object loadContext, string name)
    {
        byte[]? result = null;
        bool found = TryReadEntry(loadContext, name, s =>
        {
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            result = ms.ToArray();
        });
        if (!found || result is null) throw new InvalidOperationException($"The saved model has no '{name}' entry; it was not written by this version of MLNetLora.ML.");
        return result;
    }

    /// <summary>
    /// Registers <paramref name="create"/> (a static <c>(IHostEnvironment, object ctx)</c> method) as the
    /// loader of <paramref name="instanceType"/> under <paramref name="loaderSignature"/>.
    /// </summary>
    public static void RegisterLoader(ComponentCatalog catalog, Type instanceType, string loaderSignature, MethodInfo create)
    {
        var attrType = CoreType(Core, "Microsoft.ML.LoadableClassAttribute");
        var sigType = CoreType(Core, "Microsoft.ML.SignatureLoadModel");
        var attr = Activator.CreateInstance(attrType, Any, null,
            [instanceType, null, sigType, instanceType.Name, new[] { loaderSignature }], null) ?? throw Missing("LoadableClassAttribute constructor");
        var infoType = typeof(ComponentCatalog).GetNestedType("LoadableClassInfo", Any) ?? throw Missing("ComponentCatalog+LoadableClassInfo");
        var info = Activator.CreateInstance(infoType, Any, null, [attr, null, null, create, true], null) ?? throw Missing("LoadableClassInfo constructor");
        var add = typeof(ComponentCatalog).GetMethod("AddClass", Any) ?? throw Missing("ComponentCatalog.AddClass");
        add.Invoke(catalog, [info, new[] { loaderSignature }, true]);
    }

    /// <summary>A <see cref="SchemaShape.Column"/> (its constructor is internal; see ML.NET issue #3243).</summary>
    public static SchemaShape.Column ShapeColumn(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType, bool isKey, SchemaShape? annotations)
    {
        var ctor = typeof(SchemaShape.Column).GetConstructors(Any).FirstOrDefault(c => c.GetParameters().Length == 5)
            ?? throw Missing("SchemaShape.Column(name, vecKind, itemType, isKey, annotations)");
        return (SchemaShape.Column)ctor.Invoke([name, kind, itemType, isKey, annotations]);
    }

    /// <summary><c>SchemaShape.Create(schema)</c> (internal in ML.NET).</summary>
    public static SchemaShape ShapeOf(DataViewSchema schema)
    {
        var m = typeof(SchemaShape).GetMethod("Create", Any, [typeof(DataViewSchema)]) ?? throw Missing("SchemaShape.Create(DataViewSchema)");
        return (SchemaShape)m.Invoke(null, [schema])!;
    }

    private static void Call(object target, Type t, string name, object[] args)
    {
        var m = t.GetMethods(Any).FirstOrDefault(m => m.Name == name && m.GetParameters().Length == args.Length) ?? throw Missing($"{t.Name}.{name}");
        m.Invoke(target, args);
    }

    private static Type CoreType(Assembly assembly, string name) => assembly.GetType(name) ?? throw Missing(name);

    private static MissingMemberException Missing(string member) => new(
        $"ML.NET internal member '{member}' was not found. MLNetLora.ML saves and loads models through ML.NET internals tested with {TestedWith}; " +
        "use that version of Microsoft.ML, or report the version you use.");
}
