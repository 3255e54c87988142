using System.Buffers.Binary;
using System.Text;

namespace MLNetLora.Tests.Checkpoints;

/// <summary>Writes byte-exact safetensors files by hand, so the error tests can build malformed ones.</summary>
internal static class RawSafeTensors
{
    public static string Write(string dir, string fileName, string headerJson, byte[] data, ulong? declaredHeaderLength = null)
    {
        string path = Path.Combine(dir, fileName);
        byte[] header = Encoding.UTF8.GetBytes(headerJson);
        using var stream = File.Create(path);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, declaredHeaderLength ?? (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        stream.Write(data);
        return path;
    }

    public static (ulong HeaderLength, string Header) ReadHeader(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return (n, Encoding.UTF8.GetString(bytes, 8, (int)n));
    }
}
