#!/usr/bin/env python3
"""Checks that a ColBERT directory written by `mbert finetune --task colbert` (its best/) loads in
PyLate and encodes as `mbert embed --colbert-role query|document` does.

Loads DIR with pylate.models.ColBERT (fp32, CPU), encodes a few queries (is_query=True) and
documents (is_query=False), and compares with `mbert embed --model DIR --colbert-role ...` on the
same texts: the number of vectors per text, the max absolute difference per vector, and the
MaxSim score matrix (pylate.scores.colbert_scores on PyLate's vectors against the same MaxSim on
mbert's). Each (query, document) pair is scored on its own, so no padding enters the scores
(colbert_scores multiplies padded positions by a 0 mask, which makes a padded document score
max(sim, 0) per query token). Exits non-zero when a count differs or a difference is above --tol.

PyLate 1.6.0 needs the versions it pins (sentence-transformers 5.3.0, transformers <= 5.3.0):
  python3 -m venv /work/venv-pylate2
  /work/venv-pylate2/bin/pip install -r tools/finetune/requirements-pylate.txt
  /work/venv-pylate2/bin/python tools/finetune/check_pylate_load.py --write-beir /tmp/pl2/beir
  build/tools/mbert/mbert finetune -q --model tests/data/tiny-mlm --task colbert \
      --train /tmp/pl2/beir --dev /tmp/pl2/beir --dev-split dev --out /tmp/pl2/run \
      --epochs 3 --batch-size 4 --query-length 32
  /work/venv-pylate2/bin/python tools/finetune/check_pylate_load.py /tmp/pl2/run/best \
      --mbert build/tools/mbert/mbert
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch
from pylate import models, scores

QUERIES = [
    "what do cats do",
    "how do rockets travel?",
    "Where is bread made, and by whom?",
    "q",
    # longer than query_length 32 tokens: cut, as PyLate does
    " ".join(["why do the tall green trees by the old river bend"] * 5),
]
DOCUMENTS = [
    "cats purr, and sleep all day.",
    "Rockets fly to space on a column of fire!",
    "bread is baked in hot ovens (then sliced)",
    "rivers flow down to the sea",
    "x",
    # longer than document_length 180 tokens: cut, as PyLate does
    " ".join(["the quick brown fox, it jumps over the lazy dog; then it rests."] * 20),
]


# The 8-query BEIR set of tests/train/test_retrieval_run.cpp, for a tiny ColBERT run to check.
BEIR_DOCS = ["cats purr and sleep all day", "rockets fly to space", "bread is baked in hot ovens",
             "rivers flow down to the sea", "guitars have six strings", "snow falls in the winter",
             "bees make sweet honey", "trains run on steel rails"]
BEIR_QUERIES = ["what do cats do", "how do rockets travel", "where is bread made",
                "where do rivers go", "how many guitar strings", "when does snow fall",
                "what do bees produce", "what do trains run on"]


def write_beir(d):
    """corpus.jsonl, queries.jsonl and qrels/{train,dev}.tsv (query i -> document i) under d."""
    os.makedirs(os.path.join(d, "qrels"), exist_ok=True)
    qrels = "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\td{i}\t1\n" for i in range(8))
    with open(os.path.join(d, "corpus.jsonl"), "w") as f:
        f.writelines(json.dumps({"_id": f"d{i}", "title": "", "text": t}) + "\n"
                     for i, t in enumerate(BEIR_DOCS))
    with open(os.path.join(d, "queries.jsonl"), "w") as f:
        f.writelines(json.dumps({"_id": f"q{i}", "text": t}) + "\n"
                     for i, t in enumerate(BEIR_QUERIES))
    for split in ("train", "dev"):
        with open(os.path.join(d, "qrels", split + ".tsv"), "w") as f:
            f.write(qrels)
    print(f"wrote {d}: 8 documents, 8 queries, qrels/train.tsv = qrels/dev.tsv")


def mbert_vectors(mbert, model_dir, role, texts):
    out = subprocess.run([mbert, "embed", "--model", model_dir, "--colbert-role", role, *texts],
                         check=True, capture_output=True, text=True).stdout
    lines = [json.loads(line) for line in out.splitlines()]
    if len(lines) != len(texts):
        sys.exit(f"mbert printed {len(lines)} lines for {len(texts)} {role} texts")
    return [np.array(line["vectors"], dtype=np.float32) for line in lines]


def maxsim(q, d):  # sum over query vectors of the best dot product with a document vector
    return float((q @ d.T).max(axis=1).sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir", nargs="?")
    ap.add_argument("--write-beir", metavar="DIR",
                    help="write the 8-query BEIR set to fine-tune a tiny model on, and exit")
    ap.add_argument("--mbert", default="build/tools/mbert/mbert")
    ap.add_argument("--tol", type=float, default=1e-4, help="max abs difference of a vector entry")
    ap.add_argument("--score-tol", type=float, default=1e-3, help="max abs difference of a score")
    args = ap.parse_args()
    if args.write_beir:
        write_beir(args.write_beir)
        return
    if not args.model_dir:
        ap.error("model_dir is required")

    model = models.ColBERT(args.model_dir, device="cpu", model_kwargs={"dtype": torch.float32})
    print(model)
    print(f"query_prefix {model.query_prefix!r}, document_prefix {model.document_prefix!r}, "
          f"query_length {model.query_length}, document_length {model.document_length}, "
          f"attend_to_expansion_tokens {model.attend_to_expansion_tokens}, "
          f"do_query_expansion {model.do_query_expansion}, skiplist {len(model.skiplist)} ids")

    ok = True
    vec = {}
    for role, texts, is_query in (("query", QUERIES, True), ("document", DOCUMENTS, False)):
        theirs = [np.asarray(v, dtype=np.float32) for v in
                  model.encode(texts, is_query=is_query, batch_size=len(texts),
                               convert_to_numpy=True)]
        ours = mbert_vectors(args.mbert, args.model_dir, role, texts)
        ids = model.tokenize(texts, is_query=is_query)["input_ids"]
        print(f"\n{role} texts:")
        worst = 0.0
        for i, text in enumerate(texts):
            toks = model.tokenizer.convert_ids_to_tokens(ids[i])
            line = f"  {text[:48]!r}: vectors pylate {len(theirs[i])}, mbert {len(ours[i])}"
            if theirs[i].shape != ours[i].shape:
                ok = False
                print(line + f"  COUNT DIFFERS; pylate tokens {toks}")
                continue
            per_vec = np.abs(theirs[i] - ours[i]).max(axis=1)
            norms = np.linalg.norm(theirs[i], axis=1)
            worst = max(worst, float(per_vec.max()))
            print(line + f"; max |diff| per vector: max {per_vec.max():.2e}, "
                  f"median {np.median(per_vec):.2e}; norms {norms.min():.6f}..{norms.max():.6f}")
        print(f"  worst vector entry difference ({role} texts): {worst:.3e}")
        ok = ok and worst <= args.tol
        vec[role] = (theirs, ours)

    (qp, qm), (dp, dm) = vec["query"], vec["document"]
    if all(a.shape == b.shape for a, b in zip(qp + dp, qm + dm)):
        s_pylate = np.array([[float(scores.colbert_scores(torch.from_numpy(q)[None],
                                                           torch.from_numpy(d)[None])[0, 0])
                              for d in dp] for q in qp])
        s_mbert = np.array([[maxsim(q, d) for d in dm] for q in qm])
        sd = float(np.abs(s_pylate - s_mbert).max())
        np.set_printoptions(precision=5, suppress=True, linewidth=120)
        print(f"\nMaxSim ({len(QUERIES)} queries x {len(DOCUMENTS)} documents), "
              f"pylate.scores.colbert_scores:\n{s_pylate}\nmbert vectors:\n{s_mbert}")
        print(f"max |score difference| = {sd:.3e} (scores up to {np.abs(s_pylate).max():.3f}); "
              f"same argmax per query: {bool((s_pylate.argmax(1) == s_mbert.argmax(1)).all())}")
        ok = ok and sd <= args.score_tol
    if not ok:
        sys.exit(f"FAIL: a count differs or a difference is above --tol {args.tol} / "
                 f"--score-tol {args.score_tol}")
    print("OK")


if __name__ == "__main__":
    main()
