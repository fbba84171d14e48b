#!/usr/bin/env python3
"""Builds a token-classification set in CoNLL layout (token TAB tag, blank line between
sentences) from the Python standard library sources of the machine: the roles of names in code,
labelled by Python's own `tokenize` module plus one token of look-around. Python 3 standard
library only; run by hand, never by CI:

  python3 scripts/data/make_python_tokens_conll.py --src /usr/lib/python3.11 --out build/pyroles

Why this task: it is the only labelled token-level data that can be made here without a model
or a hub, its labels are exact (no heuristic guesses), and part of it needs context a subword
model must learn (whether a dotted name is called, defined, imported or only referenced depends on
the tokens around it). It is a sanity task for the token-classification path, not a benchmark.

Sentences are logical lines (tokenize's NEWLINE ends one); tokens are the lexical tokens without
INDENT/DEDENT/NEWLINE/NL/COMMENT/ENDMARKER. Whitespace inside a token (strings) becomes U+2581 so
that a token stays one CoNLL column. Tags, IOB2 over name chains (NAME ('.' NAME)*):
  DEF     the name after `def` or `class`
  CALL    a name chain directly followed by '('
  IMPORT  a name chain after `import` / `from` (module paths and imported names)
  NAME    any other name chain (variables, attributes, parameters)
  NUM     a number literal;  STR  a string literal (each one token, B- only)
  O       keywords, operators and punctuation (keywords are NAME tokens in `tokenize`: they are
          told apart with keyword.iskeyword and never start an entity)
Lines with more than 128 tokens are counted and dropped. Split by file like make_code_search.py
(sha256 of the relative path, first byte mod 10: 0 test, 1 dev, else train); train.conll,
dev.conll, test.conll and stats.json (counts of sentences, tokens and tags) in --out.
"""
import argparse
import hashlib
import io
import json
import keyword
import os
import re
import tokenize
from collections import Counter
from pathlib import Path

EXCLUDED_DIRS = {"site-packages", "dist-packages", "__pycache__", "test", "tests", "idle_test"}
SKIP = {tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT,
        tokenize.ENDMARKER, tokenize.ENCODING}
MAX_TOKENS = 128


def python_files(src):
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in EXCLUDED_DIRS)
        for f in sorted(files):
            if f.endswith(".py"):
                yield Path(root) / f


def split_of(rel):
    b = hashlib.sha256(rel.encode("utf-8")).digest()[0] % 10
    return "test" if b == 0 else "dev" if b == 1 else "train"


def is_name(tok):
    return tok.type == tokenize.NAME and not keyword.iskeyword(tok.string)


def tag_line(toks):
    """IOB2 tags of one logical line's tokens."""
    tags = ["O"] * len(toks)
    first = toks[0].string if toks else ""
    importing = first in ("import", "from")
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.type == tokenize.NUMBER:
            tags[i] = "B-NUM"
        elif t.type == tokenize.STRING:
            tags[i] = "B-STR"
        elif is_name(t):
            j = i + 1  # the chain NAME ('.' NAME)*
            while j + 1 < len(toks) and toks[j].string == "." and is_name(toks[j + 1]):
                j += 2
            prev = toks[i - 1].string if i > 0 else ""
            if prev in ("def", "class"):
                kind = "DEF"
            elif j < len(toks) and toks[j].string == "(":
                kind = "CALL"
            elif importing:
                kind = "IMPORT"
            else:
                kind = "NAME"
            tags[i] = "B-" + kind
            for k in range(i + 1, j):
                tags[k] = "I-" + kind
            i = j
            continue
        i += 1
    return tags


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default="/usr/lib/python3.11")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    src, out = Path(args.src), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = {s: open(out / f"{s}.conll", "w", encoding="utf-8") for s in ("train", "dev", "test")}
    stats = {"files": 0, "files_untokenizable": 0, "lines_too_long": 0,
             "sentences": Counter(), "tokens": Counter(), "tags": Counter()}
    for path in python_files(src):
        rel = path.relative_to(src).as_posix()
        if rel.startswith("lib2to3/"):
            continue
        stats["files"] += 1
        try:
            toks = list(tokenize.tokenize(io.BytesIO(path.read_bytes()).readline))
        except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
            stats["files_untokenizable"] += 1
            continue
        split = split_of(rel)
        line = []
        for t in toks:
            if t.type == tokenize.NEWLINE or t.type == tokenize.ENDMARKER:
                if line:
                    if len(line) > MAX_TOKENS:
                        stats["lines_too_long"] += 1
                    else:
                        for tok, tag in zip(line, tag_line(line)):
                            files[split].write(re.sub(r"\s+", "\u2581", tok.string) + "\t" + tag + "\n")
                            stats["tags"][tag] += 1
                        files[split].write("\n")
                        stats["sentences"][split] += 1
                        stats["tokens"][split] += len(line)
                line = []
            elif t.type not in SKIP:
                line.append(t)
    for f in files.values():
        f.close()
    stats = {k: dict(sorted(v.items())) if isinstance(v, Counter) else v for k, v in stats.items()}
    with open(out / "stats.json", "w", encoding="utf-8") as f:
        json.dump(stats, f, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps(stats, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
