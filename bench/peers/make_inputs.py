#!/usr/bin/env python3
"""Writes a benchmark directory without the C++ binary: a random ModernBertModel and the inputs.

Usage: /work/venv/bin/python bench/peers/make_inputs.py --out DIR [--shape tiny|base|large]
           [--workloads fixed512 latency128 ...] [--scale 1.0] [--seed 0]

DIR receives the same files `mbert bench --out DIR` writes for the peers, except the mbert ones
(outputs-*.safetensors, mbert.json):
  * DIR/model/: config.json + fp32 model.safetensors (save_pretrained) with HF's random init,
    written only when DIR/model/config.json is missing;
  * DIR/inputs-<workload>.safetensors: `input_ids` I32 (N,), `cu_seqlens` I32 (B+1,).

Workloads follow the paper's efficiency datasets (reference §6.2): lengths fixed or drawn from a
normal distribution rounded and clipped, ids uniform in [100, 16000) as the paper's efficiency
notebooks draw them. Sequence counts are scaled down for a small CPU and match `mbert bench`
(--scale multiplies them). The generator is numpy's PCG64 seeded with (seed, workload index), so
the same distribution as mbert's, not the same draws: for cross-checking and developing peers.py
without the C++ side.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads as wl  # noqa: E402


def make_lengths(spec, rng, scale):
    count = max(1, int(round(spec.count * scale))) if spec.count > 1 else 1
    if spec.sd == 0:
        return [spec.mean] * count
    draws = np.rint(rng.normal(spec.mean, spec.sd, size=count)).astype(np.int64)
    return np.clip(draws, spec.lo, spec.hi).tolist()


def write_inputs(path, seqs):
    from safetensors.numpy import save_file

    ids = np.concatenate([np.asarray(s, dtype=np.int32) for s in seqs])
    cu = np.zeros(len(seqs) + 1, dtype=np.int32)
    cu[1:] = np.cumsum([len(s) for s in seqs])
    save_file({"input_ids": ids, "cu_seqlens": cu}, str(path))


def write_model(model_dir, shape, seed):
    import torch
    from transformers import ModernBertConfig, ModernBertModel

    torch.manual_seed(seed)
    config = ModernBertConfig(**wl.model_config(shape))
    model = ModernBertModel(config).eval()
    model.save_pretrained(str(model_dir), safe_serialization=True)
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {model_dir} ({shape}, {n:,} parameters)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--shape", default="base", choices=sorted(wl.SHAPES))
    ap.add_argument("--workloads", nargs="+", default=list(wl.WORKLOADS))
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiplies the number of sequences of each multi-sequence workload")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    model_dir = args.out / "model"
    if not (model_dir / "config.json").exists():
        write_model(model_dir, args.shape, args.seed)
    for name in args.workloads:
        if name not in wl.WORKLOADS:
            sys.exit(f"unknown workload {name!r}; choose from {', '.join(wl.WORKLOADS)}")
        index = list(wl.WORKLOADS).index(name)
        rng = np.random.default_rng([args.seed, index])
        lengths = make_lengths(wl.WORKLOADS[name], rng, args.scale)
        seqs = [rng.integers(wl.ID_LO, wl.ID_HI, size=n) for n in lengths]
        path = args.out / f"inputs-{name}.safetensors"
        write_inputs(path, seqs)
        print(f"wrote {path}: {len(seqs)} sequences, {sum(lengths)} tokens")


if __name__ == "__main__":
    main()
