using MLNetLora.LibTorch;
using MLNetLora.Models.Hub;
using MLNetLora.Models.Tokenization;
using MLNetLora.Models.Transformer;

namespace MLNetLora.Models.Generation;

/// <summary>
/// Autoregressive decoding with a <see cref="KvCache"/>: greedy or seeded sampling, batched prompts
/// left-padded the way transformers' <c>generate</c> pads them (attention mask, positions
/// <c>cumsum(mask) - 1</c>), stopping per row at a stop token or after the token budget. LoRA adapters
/// on the model take part as they do in training. One generator must not run two generations at once.
/// </summary>
public sealed class TextGenerator
{
    private readonly DecoderModel model;

    /// <summary>Wraps a model and, for text in and out, its tokenizer.</summary>
    /// <param name="model">The model.</param>
    /// <param name="tokenizer">Needed for text prompts and decoded output; null works with ids only.</param>
    /// <param name="stopTokenIds">Stop ids used when the options name none; the tokenizer's EOS when null.</param>
    /// <param name="padTokenId">Id written at padding positions (never attended to); the tokenizer's pad, else the first stop id, else 0, when null.</param>
    public TextGenerator(DecoderModel model, HfTokenizer? tokenizer = null, IEnumerable<int>? stopTokenIds = null, int? padTokenId = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        this.model = model;
        Tokenizer = tokenizer;
        DefaultStopTokenIds = (stopTokenIds ?? (tokenizer?.EosId is int eos ? [eos] : [])).Distinct().ToArray();
        PadTokenId = padTokenId ?? tokenizer?.PadId ?? (DefaultStopTokenIds.Count > 0 ? DefaultStopTokenIds[0] : 0);
    }

    /// <summary>The tokenizer, when there is one.</summary>
    public HfTokenizer? Tokenizer { get; }

    /// <summary>Stop ids used when <see cref="GenerationOptions.StopTokenIds"/> is null.</summary>
    public IReadOnlyList<int> DefaultStopTokenIds { get; }

    /// <summary>Id written at padding positions and fed to rows that have already stopped.</summary>
    public int PadTokenId { get; }

    /// <summary>
    /// A generator for a loaded model folder. Stop ids: the tokenizer's EOS, <c>config.json</c>'s and
    /// <c>generation_config.json</c>'s <c>eos_token_id</c>s. Pad id: the first of generation_config's,
    /// config's and the tokenizer's pad ids, else the first stop id.
    /// </summary>
    /// <param name="pretrained">The loaded folder.</param>
    /// <returns>The generator.</returns>
    /// <exception cref="Checkpoints.CheckpointException"><c>generation_config.json</c> is malformed.</exception>
    public static TextGenerator FromPretrained(PretrainedModel pretrained)
    {
        ArgumentNullException.ThrowIfNull(pretrained);
        var gen = GenerationConfig.Load(pretrained.Directory);
        var stops = new List<int>();
        if (pretrained.Tokenizer?.EosId is int eos) stops.Add(eos);
        stops.AddRange(pretrained.Config.EosTokenIds);
        stops.AddRange(gen.EosTokenIds);
        int? pad = gen.PadTokenId ?? pretrained.Config.PadTokenId ?? pretrained.Tokenizer?.PadId;
        return new TextGenerator(pretrained.Model, pretrained.Tokenizer, stops, pad);
    }

    /// <summary>
    /// Generates continuations of text prompts with a model folder's tokenizer and stop ids. With null
    /// <paramref name="options"/> the folder's <c>generation_config.json</c> supplies the defaults, as in transformers.
    /// </summary>
    /// <param name="pretrained">The loaded folder (it must have a tokenizer).</param>
    /// <param name="prompts">One prompt per row.</param>
    /// <param name="options">Decoding options; the folder's generation config when null.</param>
    /// <returns>One result per prompt, in order.</returns>
    /// <exception cref="InvalidOperationException">The folder has no tokenizer.</exception>
    /// <exception cref="ArgumentException">A prompt encodes to no tokens, or prompt plus new tokens exceed the model's positions.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static IReadOnlyList<GeneratedSequence> Generate(PretrainedModel pretrained, IReadOnlyList<string> prompts, GenerationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(pretrained);
        pretrained.RequireTokenizer();
        options ??= GenerationConfig.Load(pretrained.Directory).ToOptions();
        return FromPretrained(pretrained).Generate(prompts, options);
    }

    /// <summary>Generates continuations of text prompts.</summary>
    /// <param name="prompts">One prompt per row.</param>
    /// <param name="options">Decoding options; greedy with the defaults when null.</param>
    /// <returns>One result per prompt, in order, with decoded text.</returns>
    /// <exception cref="InvalidOperationException">The generator has no tokenizer.</exception>
    /// <exception cref="ArgumentException">A prompt encodes to no tokens, or prompt plus new tokens exceed the model's positions.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public IReadOnlyList<GeneratedSequence> Generate(IReadOnlyList<string> prompts, GenerationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var tok = Tokenizer ?? throw new InvalidOperationException("Text prompts need a tokenizer; create the TextGenerator with one, or pass token ids.");
        options ??= new GenerationOptions();
        return Generate(prompts.Select(p => (IReadOnlyList<int>)tok.Encode(p, options.AddSpecialTokens)).ToArray(), options);
    }

    /// <summary>Generates continuations of token-id prompts of any lengths (left-padded into one batch).</summary>
    /// <param name="prompts">One id sequence per row.</param>
    /// <param name="options">Decoding options; greedy with the defaults when null.</param>
    /// <returns>One result per prompt, in order.</returns>
    /// <exception cref="ArgumentException">There are no prompts, one is empty, or prompt plus new tokens exceed the model's positions.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public IReadOnlyList<GeneratedSequence> Generate(IReadOnlyList<IReadOnlyList<int>> prompts, GenerationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("Give at least one prompt.", nameof(prompts));
        for (int b = 0; b < prompts.Count; b++)
            if (prompts[b] is null || prompts[b].Count == 0)
                throw new ArgumentException($"Prompt {b} has no tokens; a continuation needs at least one (e.g. BOS).", nameof(prompts));
        int bsz = prompts.Count, width = prompts.Max(p => p.Count);
        var ids = new long[bsz * width];
        var mask = new long[bsz * width];
        Array.Fill(ids, PadTokenId);
        for (int b = 0; b < bsz; b++)
        {
            int offset = b * width + width - prompts[b].Count;
            for (int i = 0; i < prompts[b].Count; i++)
            {
                ids[offset + i] = prompts[b][i];
                mask[offset + i] = 1;
            }
        }
        return Run(ids, mask, bsz, width, options ?? new GenerationOptions());
    }

    /// <summary>Generates continuations of an already left-padded batch.</summary>
    /// <param name="inputIds">Prompt ids (B, T), int64.</param>
    /// <param name="attentionMask">1 for real tokens, 0 for left padding (B, T); null when nothing is padded.</param>
    /// <param name="options">Decoding options; greedy with the defaults when null.</param>
    /// <returns>One result per row, in order, without the padding.</returns>
    /// <exception cref="ArgumentException">Shapes disagree, a row is right-padded or all padding, or prompt plus new tokens exceed the model's positions.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public IReadOnlyList<GeneratedSequence> Generate(Tensor inputIds, Tensor? attentionMask, GenerationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.Rank != 2) throw new ArgumentException($"inputIds must be (B, T); got {inputIds.Describe()}.", nameof(inputIds));
        int bsz = (int)inputIds.Size(0), width = (int)inputIds.Size(1);
        var ids = inputIds.ToArray<long>();
        var mask = attentionMask?.ToArray<long>() ?? Enumerable.Repeat(1L, ids.Length).ToArray();
        if (mask.Length != ids.Length)
            throw new ArgumentException($"attentionMask must match inputIds {inputIds.Describe()}; got {attentionMask!.Describe()}.", nameof(attentionMask));
        for (int b = 0; b < bsz; b++)
        {
            // Right padding would put pad tokens between the prompt and its continuation.
            bool seenReal = false;
            for (int i = 0; i < width; i++)
            {
                if (mask[b * width + i] != 0) seenReal = true;
                else if (seenReal)
                    throw new ArgumentException($"Row {b} is right-padded; generation needs left padding (PaddingSide.Left) so new tokens follow the prompt.", nameof(attentionMask));
            }
            if (!seenReal) throw new ArgumentException($"Row {b} is all padding.", nameof(attentionMask));
        }
        return Run(ids, mask, bsz, width, options ?? new GenerationOptions());
    }

    private GeneratedSequence[] Run(long[] ids, long[] mask, int bsz, int width, GenerationOptions options)
    {
        options.Validate();
        if (width + options.MaxNewTokens > model.Spec.MaxPositions)
            throw new ArgumentException($"A {width}-token prompt plus {options.MaxNewTokens} new tokens needs {width + options.MaxNewTokens} positions " +
                $"but the model supports {model.Spec.MaxPositions} (max_position_embeddings); shorten the prompt or lower MaxNewTokens.", nameof(options));
        var stops = new HashSet<long>((options.StopTokenIds ?? DefaultStopTokenIds).Select(i => (long)i));
        var stopStrings = options.StopStrings is { Count: > 0 } ss ? ss : null;
        if (stopStrings is not null && Tokenizer is null)
            throw new ArgumentException("StopStrings need a tokenizer to decode the continuation; create the TextGenerator with one.", nameof(options));
        var history = new List<int>[bsz];
        var promptLength = new int[bsz];
        var positions = new long[bsz * width];
        var next = new long[bsz];   // each row's next position: its real-token count
        for (int b = 0; b < bsz; b++)
        {
            history[b] = [];
            long running = 0;
            for (int i = 0; i < width; i++)
            {
                long m = mask[b * width + i];
                running += m;
                // transformers: position_ids = cumsum(mask) - 1, filled with 1 at padding.
                positions[b * width + i] = m == 0 ? 1 : running - 1;
                if (m != 0) history[b].Add((int)ids[b * width + i]);
            }
            promptLength[b] = history[b].Count;
            next[b] = running;
        }
        var reasons = new FinishReason?[bsz];
        var generator = options.DoSample ? new Generator(options.Seed) : null;
        using var cache = new KvCache(model, bsz, width + options.MaxNewTokens);
        Tensor? logits = Prefill(cache, ids, mask, positions, bsz, width);
        try
        {
            for (int step = 0; step < options.MaxNewTokens; step++)
            {
                var chosen = TokenSelector.Select(logits!, options, history, generator);
                logits!.Dispose();
                logits = null;
                for (int b = 0; b < bsz; b++)
                {
                    if (reasons[b] is not null) { chosen[b] = PadTokenId; continue; }
                    history[b].Add((int)chosen[b]);
                    if (stops.Contains(chosen[b]) || (stopStrings is not null && EndsWithStopString(history[b], promptLength[b], stopStrings)))
                        reasons[b] = FinishReason.Stop;
                }
                if (step == options.MaxNewTokens - 1 || reasons.All(r => r is not null)) break;
                logits = Step(cache, chosen, next);
                for (int b = 0; b < bsz; b++) next[b]++;
            }
        }
        finally
        {
            logits?.Dispose();
        }
        return Enumerable.Range(0, bsz).Select(b => new GeneratedSequence(history[b].ToArray(), promptLength[b],
            Tokenizer?.Decode(history[b].Skip(promptLength[b]), options.SkipSpecialTokens), reasons[b] ?? FinishReason.Length)).ToArray();
    }

    // Decoding the whole continuation each step is quadratic in its length, which is negligible
    // next to a forward pass for the lengths generation runs to; it also sees strings split across tokens.
    private bool EndsWithStopString(List<int> row, int promptLength, IReadOnlyList<string> stopStrings)
    {
        string text = Tokenizer!.Decode(row.Skip(promptLength), skipSpecialTokens: false);
        return stopStrings.Any(s => text.Contains(s, StringComparison.Ordinal));
    }

    private Tensor Prefill(KvCache cache, long[] ids, long[] mask, long[] positions, int bsz, int width)
    {
        using var scope = TensorScope.Begin();
        var idsT = Tensor.FromArray(ids, bsz, width);                              // (B, T)
        var posT = Tensor.FromArray(positions, bsz, width);                        // (B, T)
        var maskT = mask.All(m => m != 0) ? null : Tensor.FromArray(mask, bsz, width);  // (B, T)
        return model.ForwardIncremental(idsT, cache, posT, maskT).DetachFromScopes(); // (B, V)
    }

    // Rows that already stopped are fed the pad id as transformers does; their keys stay unmasked, and
    // nothing they produce is kept.
    private Tensor Step(KvCache cache, long[] tokens, long[] positions)
    {
        using var scope = TensorScope.Begin();
        var idsT = Tensor.FromArray(tokens, tokens.Length, 1);                     // (B, 1)
        var posT = Tensor.FromArray(positions, positions.Length, 1);               // (B, 1)
        return model.ForwardIncremental(idsT, cache, posT).DetachFromScopes();     // (B, V)
    }
}
