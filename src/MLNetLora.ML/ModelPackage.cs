using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Lora;

namespace MLNetLora.ML;

/// <summary>
/// The base-model side of a saved LoRA transformer: the adapter (PEFT bytes), the base model's path
/// and fingerprint, and optionally the base model's files themselves, written as zip entries of at
/// most <see cref="ChunkBytes"/> each (so no entry needs Zip64, however large the weights). Loading
/// finds the base model (Register's folder, the embedded copy, or the saved path), checks its
/// fingerprint, and attaches the adapter.
/// </summary>
internal static class ModelPackage
{
    /// <summary>Largest zip entry written for an embedded file: 1 GiB, below the 2 and 4 GiB limits of plain zip tools.</summary>
    internal static long ChunkBytes { get; set; } = 1L << 30;

    private const string BaseEntry = "Base";
    private const string AdapterConfigEntry = "AdapterConfig";
    private const string AdapterWeightsEntry = "AdapterWeights";

    /// <summary>
    /// Writes the adapter of <paramref name="pretrained"/>, the base record and, when <paramref name="embed"/>, the base files.
    /// A fully fine-tuned model (no adapters) is written whole instead: its trained weights exist nowhere
    /// else, so they are always embedded, as a Hugging Face folder with the classification head in it.
    /// </summary>
    public static void Save(ModelSaveContext ctx, PretrainedModel pretrained, LoraSettings lora, ModelFingerprint fingerprint, bool embed)
    {
        string tmp = Path.Combine(Path.GetTempPath(), "mlnetlora-" + Guid.NewGuid().ToString("N"));
        bool full = pretrained.Model.Adapters.Count == 0;
        try
        {
            if (full)
            {
                pretrained.SaveMerged(tmp, pretrained.Model.ComputeDType);
                var trained = ModelFingerprint.Of(tmp);
                var record = new BaseRecord(pretrained.Directory, trained.Files, EmbedFiles(ctx, tmp)) { FullModel = true };
                MLNetInternals.WriteEntry(ctx, BaseEntry, s => JsonSerializer.Serialize(s, record));
                return;
            }
            PeftAdapterIO.Save(pretrained.Model, lora, tmp, pretrained.Directory);
            WriteFile(ctx, AdapterConfigEntry, Path.Combine(tmp, PeftAdapterIO.ConfigFileName));
            WriteFile(ctx, AdapterWeightsEntry, Path.Combine(tmp, PeftAdapterIO.WeightsFileName));
        }
        finally
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        }
        // A QLoRA adapter was trained against the NF4 base: loading quantizes the base the same way, so scores do not move.
        var nf4 = pretrained.Model.Linears.Select(l => l.QuantizedWeight).FirstOrDefault(q => q is not null);
        var baseRecord = new BaseRecord(pretrained.Directory, fingerprint.Files, embed ? EmbedFiles(ctx, pretrained.Directory) : null)
        {
            Nf4BlockSize = nf4?.BlockSize,
            Nf4DoubleQuant = nf4?.IsDoubleQuantized ?? false,
        };
        MLNetInternals.WriteEntry(ctx, BaseEntry, s => JsonSerializer.Serialize(s, baseRecord));
    }

    private static List<EmbeddedFile> EmbedFiles(ModelSaveContext ctx, string directory)
    {
        var files = new List<EmbeddedFile>();
        {
            var names = ModelFingerprint.FilesOf(directory);
            for (int i = 0; i < names.Count; i++)
            {
                string path = Path.Combine(directory, names[i]);
                long length = new FileInfo(path).Length;
                int chunks = (int)Math.Max(1, (length + ChunkBytes - 1) / ChunkBytes);
                using var source = File.OpenRead(path);
                for (int c = 0; c < chunks; c++)
                    MLNetInternals.WriteEntry(ctx, ChunkName(i, c), s => CopyBytes(source, s, Math.Min(ChunkBytes, length - c * ChunkBytes)));
                files.Add(new EmbeddedFile(names[i], length, chunks));
            }
        }
        return files;
    }

    /// <summary>Loads the base model for a saved transformer on <paramref name="device"/> and attaches its adapter.</summary>
    /// <returns>The model with adapters, the adapter's settings, and the fingerprint recorded at training time.</returns>
    /// <exception cref="DirectoryNotFoundException">The base model is neither embedded nor where it was, and Register named no folder.</exception>
    /// <exception cref="InvalidDataException">The folder found is not the base model the transformer was trained on.</exception>
    public static (PretrainedModel Pretrained, LoraSettings Lora, ModelFingerprint Fingerprint, bool Embedded) Load(
        IHostEnvironment env, object ctx, LibTorch.Device device, string what)
    {
        var record = JsonSerializer.Deserialize<BaseRecord>(MLNetInternals.Read(ctx, BaseEntry))
            ?? throw new InvalidDataException($"The saved {what} has an empty base-model record.");
        var expected = new ModelFingerprint(record.Fingerprint);
        if (record.FullModel) return LoadFull(ctx, record, expected, device);
        string? given = MLNetLoraCatalog.BaseModelOverride(env.ComponentCatalog);
        string dir = given ?? (record.Embedded is { } files ? Extract(ctx, files, expected) : record.BaseModelPath);
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException($"The saved {what} needs its base model at '{dir}', which does not exist (the zip holds only the adapter). " +
                "Put the Hugging Face folder there, or call MLNetLoraCatalog.Register(mlContext, baseModelDirectory: \"...\") before mlContext.Model.Load, " +
                "or save the model with EmbedBaseModel = true so the zip carries the base model.");
        var found = ModelFingerprint.Of(dir);
        var differences = expected.Differences(found);
        if (differences.Count > 0)
            throw new InvalidDataException($"The base model at '{dir}' is not the one the saved {what} was trained on ('{record.BaseModelPath}'): " +
                string.Join("; ", differences) + ". Point MLNetLoraCatalog.Register(mlContext, baseModelDirectory: ...) at the original folder, or save with EmbedBaseModel = true.");
        string tmp = Path.Combine(Path.GetTempPath(), "mlnetlora-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(tmp);
        try
        {
            ReadFile(ctx, AdapterConfigEntry, Path.Combine(tmp, PeftAdapterIO.ConfigFileName));
            ReadFile(ctx, AdapterWeightsEntry, Path.Combine(tmp, PeftAdapterIO.WeightsFileName));
            var pretrained = PretrainedModel.Load(dir, device);
            try
            {
                if (record.Nf4BlockSize is int block) pretrained.Model.QuantizeBaseWeights(record.Nf4DoubleQuant, block);
                var lora = PeftAdapterIO.Load(pretrained.Model, tmp);
                return (pretrained, lora, expected, record.Embedded is not null);
            }
            catch
            {
                pretrained.Dispose();
                throw;
            }
        }
        finally
        {
            Directory.Delete(tmp, recursive: true);
        }
    }

    // A fully fine-tuned model is its own base: extract it and put back its classification head.
    private static (PretrainedModel, LoraSettings, ModelFingerprint, bool) LoadFull(object ctx, BaseRecord record, ModelFingerprint expected, LibTorch.Device device)
    {
        string dir = Extract(ctx, record.Embedded ?? throw new InvalidDataException("The saved fully fine-tuned model has no embedded weights; save it again."), expected);
        var pretrained = PretrainedModel.Load(dir, device);
        try
        {
            using var checkpoint = Models.Checkpoints.ModelCheckpoint.Open(dir);
            if (checkpoint.Contains("score.weight"))
            {
                using var w = checkpoint.Load("score.weight");
                pretrained.Model.AddClassificationHead((int)w.Size(0), new LibTorch.Generator(0), w);
            }
            return (pretrained, new LoraSettings(), expected, true);
        }
        catch
        {
            pretrained.Dispose();
            throw;
        }
    }

    // Embedded files go to a folder named by the fingerprint, shared by every load of the same base
    // model; it is written under a temporary name and renamed, so a reader never sees half a model.
    private static string Extract(object ctx, IReadOnlyList<EmbeddedFile> files, ModelFingerprint fingerprint)
    {
        string id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(fingerprint.ToJson())))[..16];
        string root = Path.Combine(Path.GetTempPath(), "mlnetlora-models");
        string dir = Path.Combine(root, id);
        if (Directory.Exists(dir) && fingerprint.Differences(ModelFingerprint.Of(dir)).Count == 0) return dir;
        string tmp = dir + ".tmp-" + Guid.NewGuid().ToString("N");
        Directory.CreateDirectory(tmp);
        try
        {
            for (int i = 0; i < files.Count; i++)
            {
                using var target = File.Create(Path.Combine(tmp, files[i].Name));
                for (int c = 0; c < files[i].Chunks; c++)
                    if (!MLNetInternals.TryReadEntry(ctx, ChunkName(i, c), s => s.CopyTo(target)))
                        throw new InvalidDataException($"The saved model lacks part {c} of its embedded '{files[i].Name}'; save it again.");
                if (target.Length != files[i].Length)
                    throw new InvalidDataException($"The embedded '{files[i].Name}' has {target.Length} bytes instead of {files[i].Length}; the zip is damaged.");
            }
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Directory.Move(tmp, dir);
        }
        catch (IOException) when (Directory.Exists(dir) && fingerprint.Differences(ModelFingerprint.Of(dir)).Count == 0)
        {
            // Another process extracted the same model first.
        }
        finally
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        }
        return dir;
    }

    private static string ChunkName(int file, int chunk) => $"BaseFile.{file}.{chunk}";

    private static void WriteFile(ModelSaveContext ctx, string entry, string path) => MLNetInternals.WriteEntry(ctx, entry, s =>
    {
        using var f = File.OpenRead(path);
        f.CopyTo(s);
    });

    private static void ReadFile(object ctx, string entry, string path)
    {
        bool found = MLNetInternals.TryReadEntry(ctx, entry, s =>
        {
            using var f = File.Create(path);
            s.CopyTo(f);
        });
        if (!found) throw new InvalidDataException($"The saved model has no '{entry}' entry; it was not written by this version of MLNetLora.ML.");
    }

    private static void CopyBytes(Stream from, Stream to, long count)
    {
        var buffer = new byte[1 << 20];
        while (count > 0)
        {
            int n = from.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (n == 0) throw new EndOfStreamException("A base-model file shrank while it was being saved.");
            to.Write(buffer, 0, n);
            count -= n;
        }
    }

    private sealed record EmbeddedFile(string Name, long Length, int Chunks);

    private sealed record BaseRecord(string BaseModelPath, IReadOnlyDictionary<string, string> Fingerprint, IReadOnlyList<EmbeddedFile>? Embedded)
    {
        /// <summary>The embedded files are the trained model itself (full fine-tuning), with no adapter.</summary>
        public bool FullModel { get; init; }

        /// <summary>The NF4 block size of a QLoRA base (quantized again at load), or null for a dense base.</summary>
        public int? Nf4BlockSize { get; init; }

        /// <summary>Whether the QLoRA base's scales were double-quantized.</summary>
        public bool Nf4DoubleQuant { get; init; }
    }
}
