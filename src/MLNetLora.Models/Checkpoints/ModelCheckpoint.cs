using MLNetLora.LibTorch;

namespace MLNetLora.Models.Checkpoints;

/// <summary>
/// The weights of a Hugging Face model folder: either a single <c>model.safetensors</c>, or shards listed in
/// <c>model.safetensors.index.json</c>. Files stay open and tensors are read one at a time on request.
/// </summary>
public sealed class ModelCheckpoint : IDisposable
{
    /// <summary>File name of a single-file checkpoint.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>File name of the index of a sharded checkpoint.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly Dictionary<string, SafeTensorsFile> byName;
    private readonly List<SafeTensorsFile> files;
    private bool disposed;

    private ModelCheckpoint(string directory, IReadOnlyList<string> names, Dictionary<string, SafeTensorsFile> byName, List<SafeTensorsFile> files)
    {
        Directory = directory;
        Names = names;
        this.byName = byName;
        this.files = files;
    }

    /// <summary>The model folder.</summary>
    public string Directory { get; }

    /// <summary>Tensor names: the index's order for shards, the header's order for a single file.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Full paths of the safetensors files the checkpoint consists of.</summary>
    public IReadOnlyList<string> Files => files.Select(f => f.Path).ToArray();

    /// <summary>Opens the checkpoint in <paramref name="modelDir"/>, preferring the shard index when both layouts are present.</summary>
    /// <exception cref="CheckpointException">The folder does not exist, holds neither expected file, its index is malformed,
    /// a shard the index names is missing, or a safetensors file is invalid.</exception>
    public static ModelCheckpoint Open(string modelDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDir);
        string dir = Path.GetFullPath(modelDir);
        if (!System.IO.Directory.Exists(dir))
            throw new CheckpointException(
                $"Model folder '{dir}' does not exist. Point to a Hugging Face model folder containing {SingleFileName} or {IndexFileName} with its shards.", dir);
        string index = Path.Combine(dir, IndexFileName);
        if (File.Exists(index)) return OpenSharded(dir, index);
        string single = Path.Combine(dir, SingleFileName);
        if (File.Exists(single))
        {
            var file = SafeTensorsFile.Open(single);
            try
            {
                var names = file.Names;
                return new ModelCheckpoint(dir, names, names.ToDictionary(n => n, _ => file, StringComparer.Ordinal), [file]);
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }
        throw new CheckpointException(
            $"Model folder '{dir}' has neither {SingleFileName} nor {IndexFileName}. Found: {DescribeFolder(dir)}. " +
            "Download the safetensors weights of the model; PyTorch .bin checkpoints must first be converted to safetensors.", dir);
    }

    /// <summary>Whether the checkpoint has a tensor with this name.</summary>
    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>The header entry (dtype, shape, offsets within its file) of a tensor.</summary>
    /// <exception cref="CheckpointException">No tensor has this name (the message lists the closest), or its shard lacks it.</exception>
    public TensorInfo GetInfo(string name) => FileOf(name).GetInfo(name);

    /// <summary>Loads a tensor as a new CPU tensor in its stored dtype.</summary>
    /// <exception cref="CheckpointException">No tensor has this name, or its file is invalid.</exception>
    public Tensor Load(string name) => FileOf(name).Load(name);

    /// <summary>Loads a tensor after checking its stored shape against the one the model's config implies.</summary>
    /// <exception cref="CheckpointException">The shapes differ (checked before any data is read), no tensor has this name, or its file is invalid.</exception>
    public Tensor Load(string name, long[] expectedShape)
    {
        ArgumentNullException.ThrowIfNull(expectedShape);
        var file = FileOf(name);
        var info = file.GetInfo(name);
        if (!info.Shape.AsSpan().SequenceEqual(expectedShape))
            throw new CheckpointException(
                $"Tensor '{name}' has shape {TensorInfo.FormatShape(info.Shape)} but the config expects {TensorInfo.FormatShape(expectedShape)} (in '{file.Path}'). " +
                "The config.json does not describe these weights; use the config.json that came with the checkpoint.", file.Path);
        return file.Load(name);
    }

    /// <summary>Unmaps every file.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var file in files) file.Dispose();
    }

    private SafeTensorsFile FileOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ObjectDisposedException.ThrowIf(disposed, this);
        if (byName.TryGetValue(name, out var file))
        {
            if (file.Contains(name)) return file;
            throw new CheckpointException(
                $"{IndexFileName} in '{Directory}' places tensor '{name}' in '{Path.GetFileName(file.Path)}', but that file has no such tensor. " +
                "The shards and the index come from different versions; download them together again.", file.Path);
        }
        throw new CheckpointException(
            $"The checkpoint in '{Directory}' has no tensor named '{name}'.{NameSuggestions.Hint(name, Names)} " +
            "Check that config.json's model_type matches these weights.", Directory);
    }

    private static ModelCheckpoint OpenSharded(string dir, string indexPath)
    {
        var index = ShardIndex.Load(indexPath);
        var shardNames = index.ShardFiles.ToList();
        var missing = shardNames.Where(f => !File.Exists(Path.Combine(dir, f))).ToList();
        if (missing.Count > 0)
            throw new CheckpointException(
                $"{IndexFileName} in '{dir}' lists {shardNames.Count} shard(s) but {missing.Count} are missing: {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", …" : "")}. " +
                "Download every shard named in the index.", indexPath);
        var opened = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (string shard in shardNames) opened[shard] = SafeTensorsFile.Open(Path.Combine(dir, shard));
            var byName = index.Names.ToDictionary(n => n, n => opened[index.WeightMap[n]], StringComparer.Ordinal);
            return new ModelCheckpoint(dir, index.Names, byName, opened.Values.ToList());
        }
        catch
        {
            foreach (var file in opened.Values) file.Dispose();
            throw;
        }
    }

    private static string DescribeFolder(string dir)
    {
        var entries = System.IO.Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(10).ToList();
        return entries.Count == 0 ? "nothing (the folder is empty)" : string.Join(", ", entries);
    }
}
