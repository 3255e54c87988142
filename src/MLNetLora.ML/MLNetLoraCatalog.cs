using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLNetLora.ML;

/// <summary>
/// Catalog extensions: <c>mlContext.Transforms.LoraTrainer(options)</c> and
/// <c>mlContext.MulticlassClassification.Trainers.LoraTextClassification(...)</c>, and
/// <see cref="Register"/>, which a fresh process must call before <c>mlContext.Model.Load</c> of a
/// model holding a LoRA transformer (as CustomMapping needs <c>ComponentCatalog.RegisterAssembly</c>).
/// </summary>
public static class MLNetLoraCatalog
{
    private static readonly ConditionalWeakTable<ComponentCatalog, object> Registered = [];
    private static readonly ConditionalWeakTable<ComponentCatalog, string> BaseModelOverrides = [];

    /// <summary>LoRA fine-tuning of a text classifier (the label must be a key type: use MapValueToKey first).</summary>
    /// <param name="catalog"><c>mlContext.Transforms</c>.</param>
    /// <param name="options">Model folder, columns and training settings.</param>
    public static LoraClassificationEstimator LoraTrainer(this TransformsCatalog catalog, LoraClassificationOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return Create(MLNetInternals.EnvironmentOf(catalog), options);
    }

    /// <summary>LoRA fine-tuning of a causal LM on prompt/response pairs (or plain texts); the transformer adds generated text.</summary>
    /// <param name="catalog"><c>mlContext.Transforms</c>.</param>
    /// <param name="options">Model folder, columns, training and generation settings.</param>
    public static LoraGenerationEstimator LoraTrainer(this TransformsCatalog catalog, LoraGenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var env = MLNetInternals.EnvironmentOf(catalog);
        RegisterWith(env.ComponentCatalog);
        return new LoraGenerationEstimator(env, options);
    }

    /// <summary>
    /// <c>mlContext.Model.Load</c> with the LoRA loaders registered first: the one call a consuming
    /// program needs (equivalent to <see cref="Register"/> followed by <c>Model.Load</c>).
    /// </summary>
    /// <param name="mlContext">The context.</param>
    /// <param name="path">The model zip.</param>
    /// <param name="inputSchema">The schema the model was trained on.</param>
    /// <param name="baseModelDirectory">See <see cref="Register"/>.</param>
    /// <returns>The loaded model.</returns>
    public static ITransformer LoadModel(MLContext mlContext, string path, out DataViewSchema inputSchema, string? baseModelDirectory = null)
    {
        Register(mlContext, baseModelDirectory);
        return mlContext.Model.Load(path, out inputSchema);
    }

    /// <summary>
    /// The LoRA transformer inside a fitted pipeline (a <c>TransformerChain</c>, also when other
    /// transformers such as MapKeyToValue follow it), or the model itself when it is one.
    /// </summary>
    /// <param name="model">A fitted pipeline or a loaded model.</param>
    /// <returns>The last LoRA transformer in it.</returns>
    /// <exception cref="ArgumentException">The model holds no LoRA transformer.</exception>
    public static LoraTransformer GetLoraTransformer(this ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return FindLora(model) ?? throw new ArgumentException(
            $"The model ({model.GetType().Name}) holds no LoRA transformer; fit a pipeline that includes mlContext.Transforms.LoraTrainer(...).", nameof(model));
    }

    /// <summary>Writes the pipeline's LoRA adapter as a Hugging Face PEFT folder (see <see cref="LoraTransformer.ExportAdapter"/>).</summary>
    /// <param name="model">A fitted pipeline or a loaded model.</param>
    /// <param name="directory">Target folder.</param>
    public static void ExportAdapter(this ITransformer model, string directory) => model.GetLoraTransformer().ExportAdapter(directory);

    /// <summary>Writes the pipeline's base model with the adapter merged (see <see cref="LoraTransformer.ExportMerged"/>).</summary>
    /// <param name="model">A fitted pipeline or a loaded model.</param>
    /// <param name="directory">Target folder.</param>
    public static void ExportMerged(this ITransformer model, string directory) => model.GetLoraTransformer().ExportMerged(directory);

    private static LoraTransformer? FindLora(ITransformer model) => model switch
    {
        LoraTransformer lora => lora,
        IEnumerable<ITransformer> chain => chain.Reverse().Select(FindLora).FirstOrDefault(t => t is not null),
        _ => null,
    };

    /// <summary>The same estimator as <see cref="LoraTrainer(TransformsCatalog, LoraClassificationOptions)"/>, from the multiclass trainers catalog.</summary>
    /// <param name="catalog"><c>mlContext.MulticlassClassification.Trainers</c>.</param>
    /// <param name="options">Model folder, columns and training settings.</param>
    public static LoraClassificationEstimator LoraTextClassification(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        LoraClassificationOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return Create(MLNetInternals.EnvironmentOf(catalog), options);
    }

    /// <summary>Simple overload: the model folder and column names, every other option at its default.</summary>
    /// <param name="catalog"><c>mlContext.MulticlassClassification.Trainers</c>.</param>
    /// <param name="modelPath">Hugging Face model folder.</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="textColumnName">Text column.</param>
    /// <param name="epochs">Passes over the data.</param>
    public static LoraClassificationEstimator LoraTextClassification(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string modelPath, string labelColumnName = "Label", string textColumnName = "Text", int epochs = 3) =>
        catalog.LoraTextClassification(new LoraClassificationOptions
        {
            ModelPath = modelPath, LabelColumnName = labelColumnName, TextColumnName = textColumnName, Epochs = epochs,
        });

    /// <summary>
    /// Registers the loaders of <see cref="LoraClassificationTransformer"/> and <see cref="LoraGenerationTransformer"/>
    /// with this context, so that <c>mlContext.Model.Load</c> can read them back. The catalog extensions
    /// call it; a process that only loads must call it once before <c>Model.Load</c> (or use
    /// <see cref="LoadModel"/>); without it Model.Load fails with "Could not load file or assembly
    /// 'Call-MLNetLoraCatalog.Register-before-Model.Load'". (ML.NET finds loaders through its internal
    /// <c>[LoadableClass]</c> attribute, which an assembly outside ML.NET cannot declare, so loading cannot
    /// work without this call.) Calling it again is harmless.
    /// </summary>
    /// <param name="mlContext">The context that will load the model.</param>
    /// <param name="baseModelDirectory">
    /// Where the base Hugging Face model lives on this machine. A saved model stores only the adapter
    /// and the base model's path at training time; pass this when the folder has moved (another
    /// machine, a container). Null keeps the saved path.
    /// </param>
    public static void Register(MLContext mlContext, string? baseModelDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        RegisterWith(mlContext.ComponentCatalog);
        if (baseModelDirectory is not null) BaseModelOverrides.AddOrUpdate(mlContext.ComponentCatalog, Path.GetFullPath(baseModelDirectory));
    }

    /// <summary>The base-model folder given to <see cref="Register"/> for this catalog, if any.</summary>
    internal static string? BaseModelOverride(ComponentCatalog catalog) => BaseModelOverrides.TryGetValue(catalog, out var dir) ? dir : null;

    private static void RegisterWith(ComponentCatalog catalog)
    {
        MLNetInternals.ResolveLoaderAlias();
        lock (Registered)
        {
            if (Registered.TryGetValue(catalog, out _)) return;
            var create = typeof(MLNetLoraCatalog).GetMethod(nameof(LoadTransformer), BindingFlags.NonPublic | BindingFlags.Static)!;
            MLNetInternals.RegisterLoader(catalog, typeof(LoraClassificationTransformer), LoraClassificationTransformer.LoaderSignature, create);
            var createGenerator = typeof(MLNetLoraCatalog).GetMethod(nameof(LoadGenerator), BindingFlags.NonPublic | BindingFlags.Static)!;
            MLNetInternals.RegisterLoader(catalog, typeof(LoraGenerationTransformer), LoraGenerationTransformer.LoaderSignature, createGenerator);
            Registered.Add(catalog, new object());
        }
    }

    private static LoraClassificationEstimator Create(IHostEnvironment env, LoraClassificationOptions options)
    {
        RegisterWith(env.ComponentCatalog);
        return new LoraClassificationEstimator(env, options);
    }

    // Called by ML.NET's loader with its internal ModelLoadContext as ctx.
    private static LoraClassificationTransformer LoadTransformer(IHostEnvironment env, object ctx) => LoraClassificationTransformer.Create(env, ctx);

    private static LoraGenerationTransformer LoadGenerator(IHostEnvironment env, object ctx) => LoraGenerationTransformer.Create(env, ctx);
}
