#!/usr/bin/env python3
"""Writes the tokenizer goldens: HF `tokenizers` (pinned in requirements.txt) on ModernBERT's real
tokenizer.json, for (a) text lines from ../shared/data and (b) a generated stress set.

Output: tests/data/tokenizer/{corpora,glue,scifact,stress,options}.bin.xz and MANIFEST.json.
Record format (all integers unsigned LEB128 varints, strings = varint length + UTF-8 bytes):
  flags (bit0 pair, bit1 tokens stored, bit2 options stored, bit3 HF raised an error)
  text, [text_pair]
  [options: add_special, trunc_on, strategy(0 longest_first,1 only_first,2 only_second), max_len,
            trunc_side(0 right,1 left), pad_on, pad_len(0 = none), multiple(0 = none), pad_side]
  unless error: n, ids[n], (begin, end)[n] in code points, special_tokens_mask[n],
                attention_mask[n], decode(skip_special=True), decode(skip_special=False),
                transformers clean_up_tokenization(decode(skip_special=True)),
                [tokens[n] when bit1]
The file starts with the magic b"MBTOKG1\\n".

Run: /work/venv/bin/python tools/golden/tokenizer_goldens.py  (from the repository root)
"""
import hashlib
import json
import lzma
import os
import random
import sys

import tokenizers
import transformers
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerBase

SEED = 20241219
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("MBERT_SHARED_DIR", os.path.join(ROOT, "..", "shared"))
DATA = os.path.join(SHARED, "data")
OUT = os.path.join(ROOT, "tests", "data", "tokenizer")
TOKENIZER_JSON = os.path.join(DATA, "modernbert-base", "tokenizer.json")


def varint(n, out):
    assert n >= 0
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def string(s, out):
    b = s.encode("utf-8")
    varint(len(b), out)
    out.extend(b)


def clean_up(s):
    # transformers' own clean_up_tokenization (what decode(..., clean_up_tokenization_spaces=True)
    # applies); it does not use `self`.
    return PreTrainedTokenizerBase.clean_up_tokenization(None, s)


class Writer:
    def __init__(self, tok):
        self.tok = tok
        self.buf = bytearray(b"MBTOKG1\n")
        self.count = 0
        self.tokens_total = 0

    def add(self, text, pair=None, opts=None, store_tokens=False):
        tok = self.tok
        tok.no_truncation()
        tok.no_padding()
        add_special = True
        if opts is not None:
            add_special = bool(opts["add_special"])
            if opts["trunc_on"]:
                tok.enable_truncation(max_length=opts["max_len"],
                                      strategy=["longest_first", "only_first", "only_second"][opts["strategy"]],
                                      direction=["right", "left"][opts["trunc_side"]])
            if opts["pad_on"]:
                tok.enable_padding(direction=["right", "left"][opts["pad_side"]], pad_id=tok.token_to_id("[PAD]"),
                                   pad_token="[PAD]", length=opts["pad_len"] or None,
                                   pad_to_multiple_of=opts["multiple"] or None)
        error = False
        try:
            enc = tok.encode(text, pair, add_special_tokens=add_special)
        except TypeError:  # a bug in this script, not HF behaviour
            raise
        except Exception:  # HF's own errors, e.g. a sequence too short for only_first truncation
            error = True
        out = self.buf
        flags = (1 if pair is not None else 0) | (2 if store_tokens else 0) | (4 if opts else 0) | (8 if error else 0)
        varint(flags, out)
        string(text, out)
        if pair is not None:
            string(pair, out)
        if opts:
            for k in ["add_special", "trunc_on", "strategy", "max_len", "trunc_side", "pad_on", "pad_len",
                      "multiple", "pad_side"]:
                varint(int(opts[k]), out)
        self.count += 1
        if error:
            return
        ids = enc.ids
        varint(len(ids), out)
        for i in ids:
            varint(i, out)
        for b, e in enc.offsets:
            varint(b, out)
            varint(e, out)
        out.extend(bytes(enc.special_tokens_mask))
        out.extend(bytes(enc.attention_mask))
        d1 = tok.decode(ids, skip_special_tokens=True)
        string(d1, out)
        string(tok.decode(ids, skip_special_tokens=False), out)
        string(clean_up(d1), out)
        if store_tokens:
            for t in enc.tokens:
                string(t, out)
        self.tokens_total += len(ids)

    def save(self, name):
        path = os.path.join(OUT, name)
        data = lzma.compress(bytes(self.buf), preset=9 | lzma.PRESET_EXTREME)
        with open(path, "wb") as f:
            f.write(data)
        return {"file": name, "records": self.count, "tokens": self.tokens_total, "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest()}


def lines(path, encoding="utf-8-sig"):
    with open(path, encoding=encoding, newline="") as f:
        # Lines without their terminator, as the C++ side would read them.
        return [l.rstrip("\r\n") for l in f]


def corpora(w, rng):
    for name in ["tinyshakespeare.txt", "moby-dick.txt"]:
        for l in lines(os.path.join(DATA, "corpora", name)):
            w.add(l)
    speeches = [json.loads(l)["text"] for l in lines(os.path.join(DATA, "corpora", "sotu.jsonl"))]
    for s in rng.sample(speeches, 8):
        w.add(s)


def glue(w, rng):
    g = os.path.join(DATA, "glue")
    for task, files in [("CoLA", ["train.tsv", "dev.tsv", "val.tsv"]), ("RTE", ["train.tsv", "dev.tsv", "val.tsv"]),
                        ("MRPC", ["train.txt", "dev.txt", "test.txt"]), ("STS-B", ["train.tsv", "dev.tsv", "test.tsv"]),
                        ("SST-2", ["dev.tsv", "test.tsv", "train.tsv"])]:
        for fn in files:
            ls = lines(os.path.join(g, task, fn))
            if len(ls) > 2500:
                ls = rng.sample(ls, 2500)  # keeps the committed goldens small
            for l in ls:
                cols = l.split("\t")
                # The whole raw line (tabs, labels and all), except for the training files of
                # the pair tasks, which contribute their sentence pairs only (size of the goldens).
                if not (task in ("RTE", "MRPC", "STS-B") and fn.startswith("train")):
                    w.add(l)
                if task in ("RTE", "MRPC", "STS-B") and len(cols) >= 3:
                    a, b = {"RTE": (1, 2), "MRPC": (3, 4), "STS-B": (7, 8)}[task]
                    if len(cols) > b:
                        w.add(cols[a], cols[b])


def scifact(w, rng):
    docs = [json.loads(l) for l in lines(os.path.join(DATA, "beir-scifact", "corpus.jsonl"))]
    for d in rng.sample(docs, 1200):
        w.add(d["title"], d["text"])
    for l in lines(os.path.join(DATA, "beir-scifact", "queries.jsonl")):
        w.add(json.loads(l)["text"])


HAND = [
    "", " ", "  ", "\t", "\n", "\r\n", "Hello World!", "hello world", "The capital of France is [MASK].",
    "as a [MASK].", "[MASK]", "[MASK] starts", "ends with [MASK]", "two  [MASK]", "tab\t[MASK]", "nl\n[MASK]x",
    "   [MASK]   ", "[MASK][MASK]", "a [MASK] [MASK] b", "[mask] lower", "[MAS] partial", "[[MASK]]",
    "[CLS] inside [SEP] text [PAD] [UNK]", "<|endoftext|>x<|padding|>", "|||IP_ADDRESS||| and |||EMAIL_ADDRESS|||",
    "call |||PHONE_NUMBER|||.", "||||IP_ADDRESS||||", "|||IP_ADDRESS", "[unused0] [unused82] [unused83]",
    "x" + " " * 30 + "y", " " * 25, " " * 48 + "z", "a\u00a0b", "a\u3000b", "a\u2028b\u2029c", "a\u0085b", "a\u200bb",
    "a\u180eb", "a\u2007b \u202f c", "\t\t\tindented\n\n\n", "spaces   \t  mixed \n \n  ",
    "caf\u00e9 cafe\u0301", "A\u030a \u212b \u2126 \u0958 \ufb1d", "\u1100\u1161\u11a8 \uac00\u11a8", "a\u0301\u0323b",
    "x\u0323\u0307y", "\u1e0b\u0323", "e\u0301\u0301\u0301", "\u0301 leading mark", "\u0915\u093c\u0937",
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8", "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 \u0661\u0662\u0663",
    "\u0927\u0928\u094d\u092f\u0935\u093e\u0926 \u0967\u0968\u0969", "\u00bd \u2155 \u2167 \u00b2 \u0f33",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family", "\U0001f44d\U0001f3fd ok \U0001f44b\U0001f3ff",
    "\U0001f1eb\U0001f1f7 flag", "\u2764\ufe0f heart", "emoji\U0001f600\U0001f600\U0001f600",
    "def f(x):\n    return x**2  # square\n", "int main() { return 0; }\n", "for (i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
    "SELECT * FROM t WHERE a='b';", "fn main() { println!(\"hi\"); }", "<div class=\"x\">&nbsp;</div>",
    "https://example.com/path?q=1&r=2#frag", "mailto:someone@example.org", "user.name+tag@sub.domain.co.uk",
    "I'm you're we've they'll she'd it's don't", "I'M YOU'RE", "'s 't 're 've 'm 'll 'd", "''s ' s", "rock 'n' roll",
    "a" * 3000, "ab" * 1500, "\U0001f600" * 300, "1234567890" * 200, "\u00e9" * 800, "e\u0301" * 400,
    "supercalifragilisticexpialidocious" * 20, "-" * 500, "  a  b  c  ", "\u00e9t\u00e9 \u00c9t\u00c9",
    "\U0001d504\U0001d505 math", "\u2160\u2161 roman", "\u0130stanbul \u0131", "\u00df\u1e9e", "\u0000nul\u0001ctl",
]


def stress(w, rng):
    for h in HAND:
        w.add(h, store_tokens=True)
    pools = [
        list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"), list("0123456789"),
        list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"), [" ", "  ", "   ", " " * rng.randint(4, 30), "\t", "\n", "\r\n", "\u00a0", "\u3000"],
        ["\u0301", "\u0300", "\u0323", "\u0308", "\u030a", "\u093c", "\u0655", "\u1161", "\u11a8", "\u3099"],
        ["\u00e9", "\u212b", "\u2126", "\u0958", "\ufb1d", "\uac00", "\u1100", "\u00c5", "\u1e0b", "\u01fa"],
        list("\u4f60\u597d\u4e16\u754c\u65e5\u672c\u8a9e\u3042\u30a2\ud55c"), list("\u0645\u0631\u062d\u0628\u0627\u0661\u0662\u0669"),
        list("\u0927\u0928\u094d\u092f\u0966\u0967\u096f"), ["\U0001f600", "\U0001f44d", "\U0001f3fd", "\u200d", "\U0001f468", "\ufe0f"],
        ["[MASK]", "[CLS]", "[SEP]", "<|endoftext|>", "|||IP_ADDRESS|||", "[unused7]", "<|padding|>", "[MASK", "'s", "'ll", "'"],
        ["http://x.org/a?b=c", "a@b.com", "x = y + 1;", "\\n", "..."],
    ]
    for _ in range(4000):
        n = rng.randint(1, 40)
        parts = []
        for _ in range(n):
            pool = rng.choice(pools)
            parts.append(rng.choice(pool))
        text = "".join(parts)
        if rng.random() < 0.15:
            w.add(text, "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(0, 20))), store_tokens=True)
        else:
            w.add(text, store_tokens=True)


def options(w, rng, texts):
    for _ in range(3000):
        text = rng.choice(texts)
        pair = rng.choice(texts) if rng.random() < 0.5 else None
        specials = (3 if pair is not None else 2)
        strategy = rng.choice([0, 1, 2] if pair is not None else [0, 1])
        opts = {"add_special": int(rng.random() < 0.8), "trunc_on": int(rng.random() < 0.7), "strategy": strategy,
                "max_len": rng.randint(specials, 48), "trunc_side": rng.randint(0, 1), "pad_on": int(rng.random() < 0.5),
                "pad_len": rng.choice([0, 0, rng.randint(1, 64)]), "multiple": rng.choice([0, 0, 8, 5]),
                "pad_side": rng.randint(0, 1)}
        w.add(text, pair, opts, store_tokens=True)


def variant_specs(base):
    """Edits of the real tokenizer.json exercising options ModernBERT leaves off. Each is a list of
    [JSON pointer, value]; the C++ test applies the same edits."""
    idx = {t["content"]: i for i, t in enumerate(base["added_tokens"])}
    m, ip = idx["[MASK]"], idx["|||IP_ADDRESS|||"]
    return {
        "prefix_space": [["/pre_tokenizer/add_prefix_space", True]],
        "no_regex": [["/pre_tokenizer/use_regex", False]],
        "strip_flags": [[f"/added_tokens/{m}/rstrip", True], [f"/added_tokens/{m}/single_word", True],
                        [f"/added_tokens/{ip}/single_word", True], [f"/added_tokens/{ip}/lstrip", True],
                        [f"/added_tokens/{ip}/rstrip", True]],
        "ignore_merges": [["/model/ignore_merges", True]],
        "no_normalizer": [["/normalizer", None]],
        "no_template": [["/post_processor", None]],
    }


def apply(base, patches):
    j = json.loads(json.dumps(base))
    for ptr, value in patches:
        parts = ptr.strip("/").split("/")
        node = j
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node[p]
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return j


def variants(manifest, rng):
    base = json.load(open(TOKENIZER_JSON, encoding="utf-8"))
    specs = variant_specs(base)
    texts = HAND + ["".join(rng.choice(["wd", " ", "[MASK]", "|||IP_ADDRESS|||", "ab", "\t", "x", "\u00e9", "e\u0301",
                                        "'s", "12", "\U0001f600", "  ", ".", "_"]) for _ in range(rng.randint(1, 12)))
                    for _ in range(600)]
    for name, patches in specs.items():
        tok = Tokenizer.from_str(json.dumps(apply(base, patches)))
        w = Writer(tok)
        for i, t in enumerate(texts):
            w.add(t, texts[(i * 7) % len(texts)] if i % 5 == 0 else None, store_tokens=True)
        manifest["files"].append(w.save(f"variant-{name}.bin.xz"))
        print(manifest["files"][-1], flush=True)
    with open(os.path.join(OUT, "variants.json"), "w") as f:
        json.dump(specs, f, indent=1)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    tok = Tokenizer.from_file(TOKENIZER_JSON)
    manifest = {"script": "tools/golden/tokenizer_goldens.py", "tokenizers": tokenizers.__version__,
                "transformers": transformers.__version__,
                "python": sys.version.split()[0], "seed": SEED,
                "tokenizer_json_sha256": hashlib.sha256(open(TOKENIZER_JSON, "rb").read()).hexdigest(), "files": []}
    rng = random.Random(SEED)
    texts = []
    for name, fn in [("corpora.bin.xz", corpora), ("glue.bin.xz", glue), ("scifact.bin.xz", scifact),
                     ("stress.bin.xz", stress)]:
        w = Writer(tok)
        fn(w, rng)
        manifest["files"].append(w.save(name))
        print(manifest["files"][-1], flush=True)
    glue_lines = [l for l in lines(os.path.join(DATA, "glue", "RTE", "dev.tsv"))]
    w = Writer(tok)
    options(w, rng, HAND[:60] + glue_lines[:200])
    manifest["files"].append(w.save("options.bin.xz"))
    print(manifest["files"][-1])
    variants(manifest, rng)
    with open(os.path.join(OUT, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
