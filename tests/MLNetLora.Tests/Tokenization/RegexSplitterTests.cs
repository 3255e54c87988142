using MLNetLora.Models.Tokenization;

namespace MLNetLora.Tests.Tokenization;

public class RegexSplitterTests
{
    [Test]
    public void Split_PatternThatSkipsText_KeepsTheGapsAsPieces() =>
        Assert.That(new RegexSplitter([@"\d+"]).Split("ab12cd"), Is.EqualTo(Pieces("ab", "12", "cd")));

    [Test]
    public void Split_TwoStages_SplitsThePiecesOfTheFirst() =>
        Assert.That(new RegexSplitter([@"\S+|\s+", @"\d"]).Split("ab12 x"), Is.EqualTo(Pieces("ab", "1", "2", " ", "x")));

    [Test]
    public void Split_AstralLetters_StayInTheirLetterRun() =>
        Assert.That(new RegexSplitter([RegexSplitter.Gpt2Pattern]).Split("a\U00020000b c\U0001F600"),
            Is.EqualTo(Pieces("a\U00020000b", " c", "\U0001F600")));

    // Two astral digits look like four digit code units to .NET; HF counts two code points and keeps them together.
    [Test]
    public void Split_AstralDigitsCutByCount_NeverSplitsASurrogatePair() =>
        Assert.That(new RegexSplitter([@"\p{N}{1,3}|\s+"]).Split("\U0001D7CF\U0001D7D0 1234"),
            Is.EqualTo(Pieces("\U0001D7CF\U0001D7D0", " ", "123", "4")));

    [Test]
    public void Split_EmptyText_GivesNoPieces() =>
        Assert.That(new RegexSplitter([RegexSplitter.Gpt2Pattern]).Split(""), Is.Empty);

    private static string[] Pieces(params string[] pieces) => pieces;
}
