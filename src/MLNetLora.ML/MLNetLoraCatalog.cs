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

    /// <summary>The same estimator as <see cref="LoraTrainer"/>, from the multiclass trainers catalog.</summary>
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
    /// Registers the loader of <see cref="LoraClassificationTransformer"/> with this context, so that
    /// <c>mlContext.Model.Load</c> can read it back. The catalog extensions call it; a process that
    /// only loads must call it once before <c>Model.Load</c>. Calling it again is harmless.
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
        lock (Registered)
        {
            if (Registered.TryGetValue(catalog, out _)) return;
            var create = typeof(MLNetLoraCatalog).GetMethod(nameof(LoadTransformer), BindingFlags.NonPublic | BindingFlags.Static)!;
            MLNetInternals.RegisterLoader(catalog, typeof(LoraClassificationTransformer), LoraClassificationTransformer.LoaderSignature, create);
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
}
