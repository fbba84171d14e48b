#!/usr/bin/env python3
"""Builds a CodeSearchNet-style retrieval set (docstring -> function) from the Python standard
library sources of the machine, in BEIR layout, so that the BEIR reader and `mbert eval --task
beir` apply unchanged. Python 3 standard library only; run by hand, never by CI:

  python3 scripts/data/make_code_search.py --src /usr/lib/python3.11 --out build/code-search-stdlib

What it does, deterministically (sorted walk, no randomness, split by a hash of the module path):
  - every *.py under --src except site-packages/, dist-packages/, __pycache__/, the test suites
    (test/, tests/, idle_test/) and lib2to3's fixer data; files that do not parse are counted;
  - every function and method (def / async def, nested ones too) whose body starts with a
    docstring and has at least one more statement;
  - query = the docstring's first paragraph (inspect.cleandoc, whitespace collapsed), kept when it
    has 3 to 64 words and is not a "See ..."/"Same as ..." pointer;
  - document = the function's source (decorators excluded) with the docstring's lines removed,
    dedented; kept when 2 to 200 lines remain; a docstring sharing a line with code is skipped;
  - dedup: a query text (lowercased) or a document text seen before (in the sorted order) drops
    the later pair, so the same docstring or body never lands in two splits;
  - split by module (file): sha256 of the path relative to --src, first byte mod 10: 0 -> test,
    1 -> dev, else train; every function of a file is in the same split.

Output (--out): corpus.jsonl ({"_id", "title": "", "text": code}), queries.jsonl ({"_id",
"text": docstring}), qrels/{train,dev,test}.tsv (query-id, corpus-id, 1), and stats.json with
the counts. The corpus holds the functions of every split (retrieval of a test query searches all
of them, like BEIR's single corpus).
"""
import argparse
import ast
import hashlib
import inspect
import json
import os
import re
import textwrap
from pathlib import Path

EXCLUDED_DIRS = {"site-packages", "dist-packages", "__pycache__", "test", "tests", "idle_test"}


def python_files(src):
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in EXCLUDED_DIRS)
        for f in sorted(files):
            if f.endswith(".py"):
                yield Path(root) / f


def split_of(rel):
    b = hashlib.sha256(rel.encode("utf-8")).digest()[0] % 10
    return "test" if b == 0 else "dev" if b == 1 else "train"


def functions(tree):
    """(qualified name, node) of every def / async def, in source order."""
    out = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((prefix + child.name, child))
                visit(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return out


def pair(node, lines, stats):
    body = node.body
    if not (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        return None
    if len(body) < 2:
        stats["skipped_docstring_only"] += 1
        return None
    doc = body[0]
    if doc.lineno == node.lineno or lines[doc.end_lineno - 1].strip()[-3:] not in ('"""', "'''") \
            or body[1].lineno == doc.end_lineno:
        stats["skipped_docstring_shares_line"] += 1
        return None
    para = inspect.cleandoc(doc.value.value).split("\n\n")[0]
    query = re.sub(r"\s+", " ", para).strip()
    words = query.split()
    if not 3 <= len(words) <= 64 or re.match(r"(see|same as)\b", query, re.I):
        stats["skipped_query_length_or_pointer"] += 1
        return None
    src = lines[node.lineno - 1:doc.lineno - 1] + lines[doc.end_lineno:node.end_lineno]
    code = textwrap.dedent("\n".join(src)).strip("\n")
    n = len([l for l in code.split("\n") if l.strip()])
    if not 2 <= n <= 200:
        stats["skipped_code_length"] += 1
        return None
    return query, code


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default="/usr/lib/python3.11")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    src, out = Path(args.src), Path(args.out)
    stats = {k: 0 for k in ("files", "files_unparsable", "functions", "functions_with_docstring",
                            "skipped_docstring_only", "skipped_docstring_shares_line",
                            "skipped_query_length_or_pointer", "skipped_code_length",
                            "duplicate_query", "duplicate_code")}
    seen_q, seen_c = set(), set()
    pairs = {"train": [], "dev": [], "test": []}
    for path in python_files(src):
        rel = path.relative_to(src).as_posix()
        if rel.startswith("lib2to3/"):
            continue
        stats["files"] += 1
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text, filename=rel)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            stats["files_unparsable"] += 1
            continue
        lines = text.split("\n")
        for qual, node in functions(tree):
            stats["functions"] += 1
            if ast.get_docstring(node, clean=False) is not None:
                stats["functions_with_docstring"] += 1
            p = pair(node, lines, stats)
            if p is None:
                continue
            query, code = p
            qk, ck = query.lower(), code
            if qk in seen_q:
                stats["duplicate_query"] += 1
                continue
            if ck in seen_c:
                stats["duplicate_code"] += 1
                continue
            seen_q.add(qk)
            seen_c.add(ck)
            pairs[split_of(rel)].append((f"{rel}:{qual}:{node.lineno}", query, code))
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as fc, \
            open(out / "queries.jsonl", "w", encoding="utf-8") as fq:
        n = 0
        for split in ("train", "dev", "test"):
            with open(out / "qrels" / f"{split}.tsv", "w", encoding="utf-8") as fr:
                fr.write("query-id\tcorpus-id\tscore\n")
                for key, query, code in pairs[split]:
                    qid, did = f"q{n}", f"c{n}"
                    n += 1
                    fc.write(json.dumps({"_id": did, "title": "", "text": code,
                                         "metadata": {"function": key}}, ensure_ascii=False) + "\n")
                    fq.write(json.dumps({"_id": qid, "text": query}, ensure_ascii=False) + "\n")
                    fr.write(f"{qid}\t{did}\t1\n")
    stats["pairs"] = {s: len(v) for s, v in pairs.items()}
    stats["modules"] = {s: len({k.split(":")[0] for k, _, _ in v}) for s, v in pairs.items()}
    with open(out / "stats.json", "w", encoding="utf-8") as f:
        json.dump(stats, f, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps(stats, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
