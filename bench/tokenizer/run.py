#!/usr/bin/env python3
"""Tokenizer benchmark: single-thread encode throughput (MB/s of UTF-8 input) of mbert vs HF
`tokenizers` (Rust, via its Python package, parallelism off) on the same texts in the same run,
plus mbert's EncodeBatch scaling over threads and tokenizer.json load time.

Texts: the shared corpora (State of the Union speeches, Moby Dick and Tiny Shakespeare split
into blank-line separated paragraphs). Both sides are warm (best of --reps, each keeps its BPE
word cache between repetitions) and both return ids, tokens and offsets.

Usage: /work/venv/bin/python bench/tokenizer/run.py [--build build-dir] [--reps 3]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

from tokenizers import Tokenizer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_texts(data):
    texts = []
    with open(os.path.join(data, "corpora", "sotu.jsonl"), encoding="utf-8") as f:
        texts += [json.loads(l)["text"] for l in f]
    for name in ["moby-dick.txt", "tinyshakespeare.txt"]:
        with open(os.path.join(data, "corpora", name), encoding="utf-8") as f:
            texts += [p for p in f.read().split("\n\n") if p.strip()]
    return texts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--shared", default=os.environ.get("MBERT_SHARED_DIR", os.path.join(ROOT, "..", "shared")))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    data = os.path.join(args.shared, "data")
    tj = os.path.join(data, "modernbert-base", "tokenizer.json")
    texts = load_texts(data)
    nbytes = sum(len(t.encode("utf-8")) for t in texts)

    t0 = time.perf_counter()
    hf = Tokenizer.from_file(tj)
    hf_load = time.perf_counter() - t0
    best = 1e9
    for _ in range(args.reps):
        t0 = time.perf_counter()
        encs = hf.encode_batch(texts)
        best = min(best, time.perf_counter() - t0)
    hf_tokens = sum(len(e.ids) for e in encs)
    hf_mbs = nbytes / best / 1e6

    with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
        f.write(b"\0".join(t.encode("utf-8") for t in texts))
        path = f.name
    try:
        exe = os.path.join(args.build, "bench", "tokenizer", "bench_tokenizer")
        out = subprocess.run([exe, tj, path, str(args.reps), str(args.threads)], check=True, capture_output=True,
                             text=True).stdout
    finally:
        os.unlink(path)
    mb = json.loads(out)
    if mb["tokens"] != hf_tokens:
        print(f"warning: token counts differ (mbert {mb['tokens']}, HF {hf_tokens})", file=sys.stderr)
    print(f"texts {len(texts)}, {nbytes / 1e6:.2f} MB, {hf_tokens} tokens")
    print(f"HF tokenizers single-thread: {hf_mbs:.2f} MB/s (load {hf_load * 1e3:.1f} ms)")
    print(f"mbert         single-thread: {mb['single_thread_mb_s']:.2f} MB/s (load {mb['load_ms']:.1f} ms)")
    print(f"ratio mbert / HF: {mb['single_thread_mb_s'] / hf_mbs:.2f}x")
    print("mbert EncodeBatch MB/s by threads: " + ", ".join(f"{k}: {v:.2f}" for k, v in mb["batch_mb_s"].items()))
    print("mbert EncodeBatch MB per CPU-second by threads: " +
          ", ".join(f"{k}: {v:.2f}" for k, v in mb["batch_mb_per_cpu_s"].items()))
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
