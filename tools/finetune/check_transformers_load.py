#!/usr/bin/env python3
"""Checks that a directory written by `mbert finetune` (its best/) loads unchanged in transformers.

Loads DIR with AutoModelForSequenceClassification or AutoModelForTokenClassification (by the
architecture in config.json) and requires no missing/unexpected weights; then runs a few texts and
compares the class probabilities (softmax of the logits, what `mbert classify` prints) with
`mbert classify` on the same texts. A regression model is only load-checked.
Prints the max absolute difference and exits non-zero above --tol.

  /work/venv/bin/python tools/finetune/check_transformers_load.py runs/sst2/best \
      --mbert build/tools/mbert/mbert
"""
import argparse
import json
import subprocess
import sys

import torch
from transformers import (AutoConfig, AutoModelForSequenceClassification,
                          AutoModelForTokenClassification, AutoTokenizer)

TEXTS = [
    "a great film with wonderful acting",
    "a dull film, boring from start to end",
    "John lives in Paris and Mary visited London",
    "short",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir")
    ap.add_argument("--mbert", default="build/tools/mbert/mbert")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()

    cfg = AutoConfig.from_pretrained(args.model_dir)
    arch = cfg.architectures[0]
    token_level = arch == "ModernBertForTokenClassification"
    cls = AutoModelForTokenClassification if token_level else AutoModelForSequenceClassification
    # Loading must not report missing or unexpected weights: every tensor has its HF name.
    model, info = cls.from_pretrained(args.model_dir, output_loading_info=True,
                                      attn_implementation="eager")
    bad = {k: v for k, v in info.items() if v}
    if bad:
        print(f"transformers loading info not clean: {bad}")
        return 1
    model.eval()
    tok = AutoTokenizer.from_pretrained(args.model_dir)

    out = subprocess.run([args.mbert, "classify", "-m", args.model_dir, *TEXTS],
                         check=True, capture_output=True, text=True).stdout.splitlines()
    ours = [json.loads(line) for line in out]
    labels = [cfg.id2label[i] for i in range(cfg.num_labels)]
    if cfg.problem_type == "regression":
        # mbert classify prints softmax scores, which are all 1 for a single output.
        print("regression model: loaded cleanly; mbert classify has no logits to compare")
        return 0
    max_diff = 0.0
    for text, mine in zip(TEXTS, ours):
        enc = tok(text, return_tensors="pt")
        with torch.no_grad():
            logits = model(**enc).logits[0]
        if token_level:
            probs = torch.softmax(logits, -1)
            assert len(mine["tokens"]) == probs.shape[0], (len(mine["tokens"]), probs.shape)
            for t, p in zip(mine["tokens"], probs):
                k = int(torch.argmax(p))
                max_diff = max(max_diff, abs(float(p[k]) - t["score"]))
                if labels[k] != t["label"] and float(p.max() - p.sort().values[-2]) > 1e-4:
                    print(f"label differs on {text!r}: {labels[k]} vs {t['label']}")
                    return 1
        else:
            ref = torch.softmax(logits, -1)
            for k, name in enumerate(labels):
                max_diff = max(max_diff, abs(float(ref[k]) - mine["scores"][name]))
    print(f"{arch} {args.model_dir}: {len(TEXTS)} texts, max |transformers - mbert classify| = "
          f"{max_diff:.3g} (class probabilities)")
    return 0 if max_diff <= args.tol else 1


if __name__ == "__main__":
    sys.exit(main())
