namespace MLNetLora.Models.Tokenization;

/// <summary>The ids of the tokens that the files name as BOS, EOS, PAD and UNK; null where they name none.</summary>
internal readonly record struct NamedTokenIds(int? Bos, int? Eos, int? Pad, int? Unk);
