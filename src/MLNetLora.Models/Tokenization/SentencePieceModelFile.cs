using System.Text;

namespace MLNetLora.Models.Tokenization;

/// <summary>
/// The parts of a SentencePiece <c>tokenizer.model</c> (a <c>ModelProto</c> protobuf) that BPE
/// encoding needs: every piece with its score and type, the model type, byte fallback and the
/// normalizer flags. Read with a small wire-format reader; field numbers are sentencepiece_model.proto's.
/// </summary>
internal sealed class SentencePieceModelFile
{
    /// <summary>A piece's type (sentencepiece_model.proto: NORMAL 1, UNKNOWN 2, CONTROL 3, USER_DEFINED 4, UNUSED 5, BYTE 6).</summary>
    public enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }

    /// <summary>One vocabulary entry; its id is its index.</summary>
    public sealed record Piece(string Text, float Score, PieceType Type);

    public List<Piece> Pieces { get; } = [];

    /// <summary>TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char.</summary>
    public int ModelType { get; private set; } = 1;

    public bool ByteFallback { get; private set; }

    public string NormalizerName { get; private set; } = "";

    public bool HasCharsMap { get; private set; }

    public bool AddDummyPrefix { get; private set; } = true;

    public bool RemoveExtraWhitespaces { get; private set; } = true;

    public bool EscapeWhitespaces { get; private set; } = true;

    /// <summary>Reads a model file.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a well-formed protobuf.</exception>
    public static SentencePieceModelFile Read(byte[] bytes)
    {
        var m = new SentencePieceModelFile();
        var r = new Reader(bytes, 0, bytes.Length);
        while (r.More)
        {
            var (field, wire) = r.Key();
            switch (field)
            {
                case 1 when wire == 2: m.Pieces.Add(ReadPiece(r.Sub())); break;
                case 2 when wire == 2: m.ReadTrainer(r.Sub()); break;
                case 3 when wire == 2: m.ReadNormalizer(r.Sub()); break;
                default: r.Skip(wire); break;
            }
        }
        return m;
    }

    private static Piece ReadPiece(Reader r)
    {
        string text = "";
        float score = 0;
        var type = PieceType.Normal;
        while (r.More)
        {
            var (field, wire) = r.Key();
            if (field == 1 && wire == 2) text = r.String();
            else if (field == 2 && wire == 5) score = r.Float();
            else if (field == 3 && wire == 0) type = (PieceType)r.Varint();
            else r.Skip(wire);
        }
        return new Piece(text, score, type);
    }

    private void ReadTrainer(Reader r)
    {
        while (r.More)
        {
            var (field, wire) = r.Key();
            if (field == 3 && wire == 0) ModelType = (int)r.Varint();
            else if (field == 35 && wire == 0) ByteFallback = r.Varint() != 0;
            else r.Skip(wire);
        }
    }

    private void ReadNormalizer(Reader r)
    {
        while (r.More)
        {
            var (field, wire) = r.Key();
            if (field == 1 && wire == 2) NormalizerName = r.String();
            else if (field == 2 && wire == 2) HasCharsMap = r.Sub().Length > 0;
            else if (field == 3 && wire == 0) AddDummyPrefix = r.Varint() != 0;
            else if (field == 4 && wire == 0) RemoveExtraWhitespaces = r.Varint() != 0;
            else if (field == 5 && wire == 0) EscapeWhitespaces = r.Varint() != 0;
            else r.Skip(wire);
        }
    }

    private sealed class Reader(byte[] bytes, int begin, int end)
    {
        private readonly int origin = begin;
        private int pos = begin;

        public bool More => pos < end;

        public int Length => end - origin;

        public (int Field, int Wire) Key()
        {
            ulong k = Varint();
            return ((int)(k >> 3), (int)(k & 7));
        }

        public ulong Varint()
        {
            ulong v = 0;
            for (int shift = 0; ; shift += 7)
            {
                if (pos >= end || shift > 63) throw new InvalidDataException("tokenizer.model: a varint runs past its message.");
                byte b = bytes[pos++];
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return v;
            }
        }

        public Reader Sub()
        {
            int n = checked((int)Varint());
            if (n < 0 || pos + n > end) throw new InvalidDataException("tokenizer.model: a field runs past its message (truncated file?).");
            var sub = new Reader(bytes, pos, pos + n);
            pos += n;
            return sub;
        }

        public string String()
        {
            var s = Sub();
            return Encoding.UTF8.GetString(bytes, s.pos, s.Length);
        }

        public float Float()
        {
            if (pos + 4 > end) throw new InvalidDataException("tokenizer.model: a float runs past its message.");
            float f = BitConverter.ToSingle(bytes, pos);
            pos += 4;
            return f;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: pos += 8; break;
                case 2: Sub(); break;
                case 5: pos += 4; break;
                default: throw new InvalidDataException($"tokenizer.model: unsupported protobuf wire type {wire}.");
            }
            if (pos > end) throw new InvalidDataException("tokenizer.model: a field runs past its message.");
        }
    }
}
