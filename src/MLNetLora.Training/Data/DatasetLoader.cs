using System.IO.Compression;
using System.Text.Json;
using MLNetLora.Models.Tokenization;

namespace MLNetLora.Training.Data;

/// <summary>How to read a data file.</summary>
public sealed record DatasetOptions
{
    /// <summary>Build classification rows (text + label) instead of language-modelling rows.</summary>
    public bool Classification { get; init; }

    /// <summary>Longest sequence in tokens; longer rows keep their start, plain text is cut into blocks of this size.</summary>
    public int MaxLength { get; init; } = 512;

    /// <summary>Field(s) holding the text; several are joined with a newline (e.g. subject,body). Null = auto (<c>text</c>).</summary>
    public IReadOnlyList<string>? TextFields { get; init; }

    /// <summary>Field holding the class label.</summary>
    public string LabelField { get; init; } = "label";

    /// <summary>Class names in index order; null = the sorted distinct labels of the file.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>At most this many rows (for quick runs).</summary>
    public int? MaxRows { get; init; }

    /// <summary>Also render <c>prompt</c>/<c>response</c> rows through the chat template (as one user and one assistant turn).</summary>
    public bool UseChatTemplate { get; init; }

    /// <summary>The template for <c>messages</c> rows (and <see cref="UseChatTemplate"/>); null = the tokenizer's own.</summary>
    public ChatTemplate? ChatTemplate { get; init; }
}

/// <summary>Examples read from a file, with the class names when classifying.</summary>
/// <param name="Examples">Tokenized rows.</param>
/// <param name="ClassNames">Class index → name (classification), else empty.</param>
/// <param name="Format">What the file was read as, for the log.</param>
public sealed record LoadedDataset(List<TrainingExample> Examples, IReadOnlyList<string> ClassNames, string Format);

/// <summary>
/// Reads training data: plain <c>.txt</c> (tokenized and cut into blocks), CSV/TSV with a header,
/// JSONL with <c>messages</c> (conversations rendered by the chat template; only assistant turns get a loss),
/// <c>prompt</c>/<c>response</c> (the prompt gets no loss), <c>text</c>[/<c>label</c>], or a
/// pre-tokenized <c>input_ids</c> array. Files ending in <c>.gz</c> are decompressed on the fly.
/// </summary>
public static class DatasetLoader
{
    /// <summary>Loads and tokenizes <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">A row lacks the fields the options ask for, or a line is not JSON; the message names the row.</exception>
    public static LoadedDataset Load(string path, HfTokenizer tokenizer, DatasetOptions options)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(options);
        if (!File.Exists(path)) throw new FileNotFoundException($"Data file '{path}' not found.", path);
        string ext = Path.GetExtension(path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path).ToLowerInvariant();
        var invalid = new CountingFallback();
        using var reader = Open(path, invalid);
        if (ext == ".txt")
        {
            if (options.Classification) throw new InvalidDataException($"'{path}' is plain text, which has no labels; use CSV/TSV or JSONL with text and {options.LabelField} fields for classification.");
            var ids = tokenizer.Encode(reader.ReadToEnd(), addSpecialTokens: true);
            return new LoadedDataset(Collator.Chunk(ids, options.MaxLength), [], $"plain text, {ids.Length} tokens in blocks of {options.MaxLength}{invalid.Note()}");
        }
        var rows = ext switch
        {
            ".csv" => ReadDelimited(reader, ','),
            ".tsv" or ".tab" => ReadDelimited(reader, '\t'),
            ".jsonl" or ".json" or ".ndjson" => ReadJsonLines(reader),
            _ => throw new InvalidDataException($"'{path}': unknown data format '{ext}'. Use .txt, .csv, .tsv or .jsonl (optionally .gz)."),
        };
        if (options.MaxRows is int max) rows = rows.Take(max);
        var built = Build(rows.ToList(), tokenizer, options, ext.TrimStart('.'));
        return built with { Format = built.Format + invalid.Note() };
    }

    // Counts the byte sequences that are not UTF-8 while replacing them with U+FFFD, as the default does silently.
    private sealed class CountingFallback : System.Text.DecoderFallback
    {
        public long Count { get; private set; }

        public override int MaxCharCount => 1;

        public override System.Text.DecoderFallbackBuffer CreateFallbackBuffer() => new Buffer(this);

        public string Note() => Count == 0 ? "" : $"; warning: {Count} invalid UTF-8 byte sequence{(Count == 1 ? " was" : "s were")} replaced with U+FFFD (is the file in another encoding?)";

        private sealed class Buffer(CountingFallback owner) : System.Text.DecoderFallbackBuffer
        {
            private int left;

            public override int Remaining => left;

            public override bool Fallback(byte[] bytesUnknown, int index)
            {
                owner.Count++;
                left = 1;
                return true;
            }

            public override char GetNextChar()
            {
                if (left == 0) return '\0';
                left--;
                return '\uFFFD';
            }

            public override bool MovePrevious() => false;
        }
    }

    private static LoadedDataset Build(List<Dictionary<string, JsonElement>> rows, HfTokenizer tok, DatasetOptions o, string format)
    {
        var examples = new List<TrainingExample>();
        var names = o.ClassNames?.ToList();
        if (o.Classification && names is null)
            names = rows.Select((r, i) => LabelText(r, o.LabelField, i)).Distinct().Order(StringComparer.Ordinal).ToList();
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            if (r.TryGetValue("input_ids", out var pre) && pre.ValueKind == JsonValueKind.Array)
            {
                examples.Add(new TrainingExample(pre.EnumerateArray().Select(e => e.GetInt32()).Take(o.MaxLength).ToArray()));
                continue;
            }
            if (o.Classification)
            {
                string label = LabelText(r, o.LabelField, i);
                int cls = names!.IndexOf(label);
                if (cls < 0) throw new InvalidDataException($"Row {i + 1}: label '{label}' is not one of the classes [{string.Join(", ", names)}].");
                examples.Add(new TrainingExample(Truncate(tok.Encode(Text(r, o, i), true), o.MaxLength), ClassLabel: cls));
                continue;
            }
            if (r.TryGetValue("messages", out var messages))
            {
                var conversation = ChatMessage.ListFromJson(messages, $"Row {i + 1}");
                examples.Add(Conversation(tok, o, conversation, i));
                continue;
            }
            if (r.TryGetValue("prompt", out var p) && r.TryGetValue("response", out var resp))
            {
                examples.Add(o.UseChatTemplate
                    ? Conversation(tok, o, [new ChatMessage("user", Str(p)), new ChatMessage(ChatMessage.AssistantRole, Str(resp))], i)
                    : InstructionExample.Encode(tok, Str(p), Str(resp), o.MaxLength));
                continue;
            }
            examples.Add(new TrainingExample(Truncate(tok.Encode(Text(r, o, i), true), o.MaxLength)));
        }
        return new LoadedDataset(examples, names ?? [], $"{format}, {rows.Count} rows");
    }

    private static TrainingExample Conversation(HfTokenizer tok, DatasetOptions o, IReadOnlyList<ChatMessage> messages, int i)
    {
        var template = o.ChatTemplate ?? tok.ChatTemplate ?? throw new InvalidDataException(
            $"Row {i + 1} is a conversation, but the model has no chat template (no \"chat_template\" in tokenizer_config.json and no chat_template.jinja). Give a template file with ChatTemplate.");
        try
        {
            return ChatExample.Encode(tok, template, messages, o.MaxLength);
        }
        catch (Exception e) when (e is Models.Templating.TemplateException or ArgumentException)
        {
            throw new InvalidDataException($"Row {i + 1}: {e.Message}", e);
        }
    }

    private static int[] Truncate(int[] ids, int max) => ids.Length <= max ? ids : ids[..max];

    private static string Text(Dictionary<string, JsonElement> r, DatasetOptions o, int i)
    {
        var fields = o.TextFields ?? ["text"];
        var parts = new List<string>();
        foreach (string f in fields)
        {
            if (!r.TryGetValue(f, out var v))
                throw new InvalidDataException($"Row {i + 1} has no '{f}' field (it has: {string.Join(", ", r.Keys)}). Choose the text with TextFields.");
            parts.Add(Str(v));
        }
        return string.Join("\n", parts);
    }

    private static string LabelText(Dictionary<string, JsonElement> r, string field, int i) =>
        r.TryGetValue(field, out var v) ? Str(v)
        : throw new InvalidDataException($"Row {i + 1} has no '{field}' field (it has: {string.Join(", ", r.Keys)}). Name the label column with LabelField.");

    private static string Str(JsonElement e) => e.ValueKind == JsonValueKind.String ? e.GetString() ?? "" : e.GetRawText();

    private static StreamReader Open(string path, CountingFallback invalid)
    {
        Stream s = File.OpenRead(path);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) s = new GZipStream(s, CompressionMode.Decompress);
        var utf8 = (System.Text.Encoding)new System.Text.UTF8Encoding(false).Clone();
        utf8.DecoderFallback = invalid;
        return new StreamReader(s, utf8, detectEncodingFromByteOrderMarks: true);
    }

    private static IEnumerable<Dictionary<string, JsonElement>> ReadJsonLines(TextReader reader)
    {
        int n = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            n++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            Dictionary<string, JsonElement>? row;
            try { row = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(line); }
            catch (JsonException e) { throw new InvalidDataException($"Line {n} is not a JSON object: {e.Message}", e); }
            if (row is null) throw new InvalidDataException($"Line {n} is not a JSON object.");
            yield return row;
        }
    }

    private static IEnumerable<Dictionary<string, JsonElement>> ReadDelimited(TextReader reader, char sep)
    {
        string[]? header = null;
        int n = 0;
        foreach (var cells in CsvReader.Parse(reader, sep))
        {
            n++;
            if (header is null) { header = cells; continue; }
            if (cells.Length == 1 && cells[0].Length == 0) continue;
            if (cells.Length != header.Length)
                throw new InvalidDataException($"Row {n} has {cells.Length} fields but the header has {header.Length}; quote fields that contain the separator.");
            yield return header.Zip(cells).ToDictionary(p => p.First, p => JsonSerializer.SerializeToElement(p.Second));
        }
    }
}
