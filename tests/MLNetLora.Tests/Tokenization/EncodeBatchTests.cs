using MLNetLora.Models.Tokenization;

namespace MLNetLora.Tests.Tokenization;

public class EncodeBatchTests
{
    private const int Pad = 2;
    private static readonly Lazy<HfTokenizer> Tok = new(() => HfTokenizer.Load(TestPaths.Fixture("llama")));
    private static readonly string[] Texts = ["The whale! The whale!", "Call me Ishmael.", ""];

    [Test]
    public void EncodeBatch_RightPadding_PutsTokensFirstAndPadAfter()
    {
        var b = Tok.Value.EncodeBatch(Texts, maxLength: 64, addSpecialTokens: true, PaddingSide.Right, Pad);
        int[][] rows = Texts.Select(t => Tok.Value.Encode(t)).ToArray();
        int width = rows.Max(r => r.Length);
        Assert.That((b.BatchSize, b.SequenceLength, b.PaddingSide), Is.EqualTo((3, width, PaddingSide.Right)));
        Assert.That(b.Lengths, Is.EqualTo(rows.Select(r => r.Length)));
        for (int r = 0; r < rows.Length; r++)
        {
            var idsRow = b.InputIds.Skip(r * width).Take(width);
            var maskRow = b.AttentionMask.Skip(r * width).Take(width);
            var expected = rows[r].Select(i => (long)i).Concat(Enumerable.Repeat((long)Pad, width - rows[r].Length));
            Assert.That(idsRow, Is.EqualTo(expected), $"row {r}");
            Assert.That(maskRow, Is.EqualTo(Enumerable.Repeat(1L, rows[r].Length).Concat(Enumerable.Repeat(0L, width - rows[r].Length))), $"row {r}");
        }
    }

    [Test]
    public void EncodeBatch_LeftPadding_EndsEveryRowAtTheLastColumn()
    {
        var b = Tok.Value.EncodeBatch(Texts, maxLength: 64, addSpecialTokens: true, PaddingSide.Left, Pad);
        int[][] rows = Texts.Select(t => Tok.Value.Encode(t)).ToArray();
        int width = b.SequenceLength;
        for (int r = 0; r < rows.Length; r++)
        {
            int padCount = width - rows[r].Length;
            var expected = Enumerable.Repeat((long)Pad, padCount).Concat(rows[r].Select(i => (long)i));
            Assert.That(b.InputIds.Skip(r * width).Take(width), Is.EqualTo(expected), $"row {r}");
            Assert.That(b.AttentionMask.Skip(r * width).Take(width),
                Is.EqualTo(Enumerable.Repeat(0L, padCount).Concat(Enumerable.Repeat(1L, rows[r].Length))), $"row {r}");
        }
        Assert.That(b.InputIds[width - 1], Is.EqualTo(rows[0][^1]), "last token of the longest row is in the last column");
    }

    [Test]
    public void EncodeBatch_RowLongerThanMaxLength_KeepsTheStart()
    {
        int[] full = Tok.Value.Encode(Texts[0]);
        var b = Tok.Value.EncodeBatch(Texts, maxLength: 4, addSpecialTokens: true, PaddingSide.Right, Pad);
        Assert.That(b.SequenceLength, Is.EqualTo(4));
        Assert.That(b.Lengths, Is.EqualTo(Lengths(4, 4, 1)));
        Assert.That(b.InputIds.Take(4), Is.EqualTo(full.Take(4).Select(i => (long)i)));
        Assert.That(b.InputIds[0], Is.EqualTo(Tok.Value.BosId), "BOS survives truncation");
        Assert.That(b.AttentionMask.Skip(8), Is.EqualTo(Masks(1, 0, 0, 0)));
    }

    [Test]
    public void EncodeBatch_OnlyEmptyTextsWithoutSpecials_GivesZeroWidth()
    {
        var b = Tok.Value.EncodeBatch(["", ""], maxLength: 8, addSpecialTokens: false, PaddingSide.Left, Pad);
        Assert.That((b.BatchSize, b.SequenceLength, b.InputIds.Length), Is.EqualTo((2, 0, 0)));
        Assert.That(b.Lengths, Is.EqualTo(Lengths(0, 0)));
    }

    [Test]
    public void EncodeBatch_MaxLengthBelowOne_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Tok.Value.EncodeBatch(Texts, 0, true, PaddingSide.Right, Pad));

    [Test]
    public void EncodeBatch_NoTexts_Throws() =>
        Assert.Throws<ArgumentException>(() => Tok.Value.EncodeBatch([], 8, true, PaddingSide.Right, Pad));

    [Test]
    public void EncodeBatch_NullText_Throws() =>
        Assert.Throws<ArgumentNullException>(() => Tok.Value.EncodeBatch(["a", null!], 8, true, PaddingSide.Right, Pad));

    private static int[] Lengths(params int[] values) => values;

    private static long[] Masks(params long[] values) => values;
}
