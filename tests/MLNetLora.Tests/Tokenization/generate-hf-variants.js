// Fills the "cases" of HfVariants.json with what Hugging Face tokenizers returns for each variant.
// Usage (from this folder): npm install @anush008/tokenizers@0.6.0 && node generate-hf-variants.js
// The edits applied here must stay identical to HfVariantBuilder.cs, which rebuilds the same files in the tests.
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('@anush008/tokenizers');

const specPath = path.join(__dirname, 'HfVariants.json');
const fixture = path.join(__dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'hf', 'tokenizer-bpe', 'tokenizer.json');

function applyEdits(base, edits) {
  const t = JSON.parse(JSON.stringify(base));
  for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) {
    if (key in edits) t[key] = edits[key];
  }
  const drop = new Set(edits.drop_merges || []);
  t.model.merges = t.model.merges.filter(m => !drop.has(Array.isArray(m) ? m.join(' ') : m));
  if (edits.merges_as_strings) t.model.merges = t.model.merges.map(m => (Array.isArray(m) ? m.join(' ') : m));
  if ('ignore_merges' in edits) t.model.ignore_merges = edits.ignore_merges;
  t.added_tokens = t.added_tokens.concat(edits.extra_added_tokens || []);
  return t;
}

(async () => {
  const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'));
  const base = JSON.parse(fs.readFileSync(process.env.FIXTURE || fixture, 'utf8'));
  for (const v of spec.variants) {
    const tok = Tokenizer.fromString(JSON.stringify(applyEdits(base, v.edits)));
    v.cases = [];
    for (const text of spec.texts) {
      const ids = (await tok.encode(text, null, { addSpecialTokens: true })).getIds();
      const idsNoSpecial = (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
      v.cases.push({
        text,
        ids,
        ids_no_special: idsNoSpecial,
        decoded: await tok.decode(ids, true),
        decoded_with_special: await tok.decode(ids, false),
      });
    }
  }
  fs.writeFileSync(specPath, JSON.stringify(spec, null, 1) + '\n');
})();
