using System.Text;

namespace MLNetLora.Models.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character map that byte-level BPE vocabularies are written in (a space
/// byte is stored as 'Ġ', a newline as 'Ċ'). Needed to look a whole pre-token up in the vocabulary,
/// which Microsoft.ML.Tokenizers keeps internal.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildTable();

    /// <summary>The vocabulary spelling of <paramref name="text"/>'s UTF-8 bytes.</summary>
    public static string Encode(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    // Printable Latin-1 bytes keep their own character; the rest are moved to U+0100 onwards in byte order.
    private static char[] BuildTable()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }
}
