using MLNetLora.LibTorch;
using MLNetLora.Models.Checkpoints;

namespace MLNetLora.Cli.Commands;

/// <summary>
/// The <c>input_ids</c> and optional <c>attention_mask</c> of a <c>forward</c> input file, checked
/// before the model runs so that a wrong file gives a message instead of a native error.
/// </summary>
public sealed class ForwardInput : IDisposable
{
    /// <summary>Name of the token id tensor.</summary>
    public const string IdsName = "input_ids";

    /// <summary>Name of the optional padding mask tensor.</summary>
    public const string MaskName = "attention_mask";

    private static readonly DType[] IntegerTypes = [DType.Int64, DType.Int32, DType.Int16, DType.Int8, DType.UInt8];

    private ForwardInput(Tensor ids, Tensor? mask)
    {
        Ids = ids;
        Mask = mask;
    }

    /// <summary>Token ids (B, T), int64, on the CPU.</summary>
    public Tensor Ids { get; }

    /// <summary>1 for real tokens, 0 for padding (B, T), int64; null when the file has none.</summary>
    public Tensor? Mask { get; }

    /// <summary>Reads and checks the file.</summary>
    /// <param name="path">The safetensors file.</param>
    /// <param name="vocabSize">Ids must be below this.</param>
    /// <param name="maxPositions">Sequences may be at most this long.</param>
    /// <exception cref="UsageException">The file is missing, lacks input_ids, or a tensor has the wrong dtype, shape or values.</exception>
    public static ForwardInput Read(string path, int vocabSize, int maxPositions)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new UsageException($"Input file '{full}' does not exist. Pass a safetensors file with an int64 '{IdsName}' tensor of shape [batch, tokens].");
        using var file = SafeTensorsFile.Open(full);
        if (!file.Contains(IdsName))
            throw new UsageException(
                $"'{full}' has no '{IdsName}' tensor (it holds {Describe(file.Names)}). " +
                $"Save the token ids as an int64 tensor named '{IdsName}' with shape [batch, tokens].");
        var idsInfo = CheckIntegerMatrix(file, IdsName, full);
        if (idsInfo.Shape[1] > maxPositions)
            throw new UsageException(
                $"'{IdsName}' in '{full}' has {idsInfo.Shape[1]} tokens per row, more than the model's max_position_embeddings ({maxPositions}). Shorten the rows.");
        Tensor? mask = null;
        if (file.Contains(MaskName))
        {
            var maskInfo = CheckIntegerMatrix(file, MaskName, full, allowBool: true);
            if (!maskInfo.Shape.AsSpan().SequenceEqual(idsInfo.Shape))
                throw new UsageException(
                    $"'{MaskName}' in '{full}' has shape {TensorInfo.FormatShape(maskInfo.Shape)} but '{IdsName}' has {TensorInfo.FormatShape(idsInfo.Shape)}; they must match.");
            mask = LoadAsInt64(file, MaskName);
        }
        var ids = LoadAsInt64(file, IdsName);
        try
        {
            CheckIdRange(ids, vocabSize, full);
        }
        catch
        {
            ids.Dispose();
            mask?.Dispose();
            throw;
        }
        return new ForwardInput(ids, mask);
    }

    /// <summary>Frees the tensors.</summary>
    public void Dispose()
    {
        Ids.Dispose();
        Mask?.Dispose();
    }

    private static string Describe(IReadOnlyList<string> names) =>
        names.Count == 0 ? "no tensors"
        : string.Join(", ", names.Take(5).Select(n => "'" + n + "'")) + (names.Count > 5 ? $" and {names.Count - 5} more" : "");

    private static TensorInfo CheckIntegerMatrix(SafeTensorsFile file, string name, string path, bool allowBool = false)
    {
        var info = file.GetInfo(name);
        bool typeOk = IntegerTypes.Contains(info.DType) || (allowBool && info.DType == DType.Bool);
        if (!typeOk)
            throw new UsageException($"'{name}' in '{path}' is {info.DTypeCode}; it must be an integer tensor (I64 preferred).");
        if (info.Shape.Length != 2 || info.Shape[0] == 0 || info.Shape[1] == 0)
            throw new UsageException($"'{name}' in '{path}' has shape {TensorInfo.FormatShape(info.Shape)}; it must be [batch, tokens] with both at least 1.");
        return info;
    }

    private static Tensor LoadAsInt64(SafeTensorsFile file, string name)
    {
        using var stored = file.Load(name);
        return stored.To(DType.Int64);
    }

    // An out-of-range id would fail deep inside libtorch's embedding lookup with an opaque message.
    private static void CheckIdRange(Tensor ids, int vocabSize, string path)
    {
        long[] values = ids.ToArray<long>();
        int at = Array.FindIndex(values, v => v < 0 || v >= vocabSize);
        if (at < 0) return;
        long t = ids.Size(1);
        throw new UsageException(
            $"'{IdsName}' in '{path}' holds id {values[at]} at row {at / t}, position {at % t}, outside the model's vocabulary [0, {vocabSize}). " +
            "Tokenize with this model's tokenizer.");
    }
}
