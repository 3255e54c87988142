"""Writes samples/data/spam.tsv from the main job's 600 SpamAssassin e-mails (src/MLNetLora.Cli/Resources/spam-subset.jsonl,
drawn by tools/demo-model/make_spam_subset.py; licence in src/MLNetLora.Cli/Resources/LICENSE-spam-assassin.txt).

A TSV because ML.NET's LoadFromTextFile reads it as Model Builder's generated code does: the subject line and the body
are joined by " | ", and tabs and line breaks inside the text become spaces.

    python3 samples/data/make_spam_tsv.py
"""
import json
import pathlib
import re

root = pathlib.Path(__file__).resolve().parents[2]
rows = [json.loads(line) for line in (root / "src/MLNetLora.Cli/Resources/spam-subset.jsonl").open(encoding="utf-8")]
with (root / "samples/data/spam.tsv").open("w", encoding="utf-8", newline="\n") as out:
    out.write("Label\tText\n")
    for row in rows:
        subject, _, body = row["text"].partition("\n")
        text = subject.strip() + " | " + re.sub(r"\s+", " ", body).strip()
        text = re.sub(r"[\t\r\n]+", " ", text)
        out.write(f"{row['label']}\t{text}\n")
print(f"{len(rows)} rows")
