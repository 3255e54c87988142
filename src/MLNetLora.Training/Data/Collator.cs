namespace MLNetLora.Training.Data;

/// <summary>
/// Turns examples into padded batches (right padding, labels masked on prompt and padding), and
/// optionally packs short examples into full blocks.
/// </summary>
public static class Collator
{
    /// <summary>Labels with this value get no loss.</summary>
    public const long Ignore = -100;

    /// <summary>Pads to the longest row (at most <paramref name="maxLength"/>; longer rows keep their start).</summary>
    /// <exception cref="ArgumentException">No examples were given.</exception>
    public static Batch Collate(IReadOnlyList<TrainingExample> examples, int padId, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("A batch needs at least one example.", nameof(examples));
        int b = examples.Count;
        int t = Math.Min(maxLength, examples.Max(e => e.InputIds.Length));
        t = Math.Max(t, 1);
        var ids = new long[b * t];
        var mask = new long[b * t];
        var labels = new long[b * t];
        Array.Fill(ids, padId);
        Array.Fill(labels, Ignore);
        bool classification = examples.Any(e => e.ClassLabel is not null);
        var classes = classification ? new long[b] : null;
        for (int r = 0; r < b; r++)
        {
            var e = examples[r];
            int n = Math.Min(t, e.InputIds.Length);
            for (int i = 0; i < n; i++)
            {
                ids[r * t + i] = e.InputIds[i];
                mask[r * t + i] = 1;
                labels[r * t + i] = e.IsLearned(i) ? e.InputIds[i] : Ignore;
            }
            if (classes is not null) classes[r] = e.ClassLabel ?? Ignore;
        }
        return new Batch(ids, mask, labels, classes, b, t);
    }

    /// <summary>
    /// Concatenates examples (an EOS between them when given) and cuts the stream into blocks of
    /// <paramref name="blockSize"/> tokens, so no compute is spent on padding. Tokens of different
    /// documents can attend to each other inside a block (as transformers' run_clm does); prompt
    /// masking is dropped, so use packing for plain-text training.
    /// </summary>
    public static List<TrainingExample> Pack(IEnumerable<TrainingExample> examples, int blockSize, int? eosId)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var stream = new List<int>();
        foreach (var e in examples)
        {
            stream.AddRange(e.InputIds);
            if (eosId is int eos && (e.InputIds.Length == 0 || e.InputIds[^1] != eos)) stream.Add(eos);
        }
        var blocks = new List<TrainingExample>();
        for (int i = 0; i + blockSize <= stream.Count; i += blockSize)
            blocks.Add(new TrainingExample(stream.GetRange(i, blockSize).ToArray()));
        return blocks;
    }

    /// <summary>Cuts one long token stream (a tokenized text file) into blocks of <paramref name="blockSize"/> tokens; a short tail is kept when at least 2 tokens long.</summary>
    public static List<TrainingExample> Chunk(IReadOnlyList<int> tokens, int blockSize)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var blocks = new List<TrainingExample>();
        for (int i = 0; i < tokens.Count; i += blockSize)
        {
            int n = Math.Min(blockSize, tokens.Count - i);
            if (n < 2) break;
            blocks.Add(new TrainingExample(tokens.Skip(i).Take(n).ToArray()));
        }
        return blocks;
    }
}
