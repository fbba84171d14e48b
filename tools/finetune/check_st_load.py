#!/usr/bin/env python3
"""Checks that a DPR directory written by `mbert finetune --task dpr` (its best/) loads in
sentence-transformers and embeds as `mbert embed` does.

Loads DIR with SentenceTransformer (fp32, CPU), encodes a few texts and compares the embeddings
with `mbert embed --model DIR` on the same texts. Prints the module list, the max absolute
difference and the max difference of the cosine similarity matrices; exits non-zero above --tol.

  /work/venv/bin/python tools/finetune/check_st_load.py runs/scifact-dpr/best \
      --mbert build/tools/mbert/mbert
"""
import argparse
import json
import subprocess
import sys

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

TEXTS = [
    "what do cats do",
    "rockets fly to space on a column of fire",
    "Bread is baked in ovens, then sliced.",
    "short",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--mbert", default="build/tools/mbert/mbert")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()

    model = SentenceTransformer(args.model_dir, device="cpu", model_kwargs={"dtype": torch.float32})
    print(model)
    theirs = model.encode(TEXTS, convert_to_numpy=True, batch_size=len(TEXTS))

    out = subprocess.run([args.mbert, "embed", "--model", args.model_dir, *TEXTS],
                         check=True, capture_output=True, text=True).stdout
    ours = np.array([json.loads(line)["embedding"] for line in out.splitlines()], dtype=np.float32)
    if ours.shape != theirs.shape:
        sys.exit(f"shape mismatch: mbert {ours.shape}, sentence-transformers {theirs.shape}")

    def cos(x):
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        return x @ x.T

    diff = float(np.abs(ours - theirs).max())
    cos_diff = float(np.abs(cos(ours) - cos(theirs)).max())
    scale = float(np.abs(theirs).max())
    print(f"{len(TEXTS)} texts, dim {ours.shape[1]}: max |mbert - sentence-transformers| = "
          f"{diff:.3e} (max |value| {scale:.3f}); cosine matrices differ by {cos_diff:.3e}")
    if diff > args.tol:
        sys.exit(f"FAIL: above --tol {args.tol}")
    print("OK")


if __name__ == "__main__":
    main()
