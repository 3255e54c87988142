namespace MLNetLora.Models.Tokenization;

/// <summary>Which end of a row receives padding when a batch is made rectangular.</summary>
public enum PaddingSide
{
    /// <summary>
    /// Pad before the tokens, so every row ends at the last column. Use this for generation, where the
    /// next token is read from the last position of each row.
    /// </summary>
    Left,

    /// <summary>Pad after the tokens, so every row starts at column 0. The usual choice for training.</summary>
    Right,
}
