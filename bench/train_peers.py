#!/usr/bin/env python3
"""PyTorch training peer beside bench_train: transformers ModernBertForMaskedLM + torch-optimi
StableAdamW on exactly the model and masked batch bench_train wrote.

Usage: /work/venv/bin/python bench/train_peers.py --dir DIR [--threads N] [--steps S]
       /work/venv/bin/python bench/train_peers.py --table DIR [DIR ...]

DIR is what `bench_train --out DIR` wrote: DIR/model (ModernBertForMaskedLM, fp32 safetensors,
the initial weights), DIR/batch.safetensors (per packed row r: row<r>.input_ids, row<r>.labels,
row<r>.cu_seqlens, row<r>.real_seqs; I32) and DIR/mbert_train.json.

The peer runs in a subprocess of its own (this script re-invoking itself with --worker), so its
peak RSS (ru_maxrss of that process) is its own:
  * `ModernBertForMaskedLM.from_pretrained(DIR/model, dtype=float32, attn_implementation="sdpa")`,
    train mode (all dropouts are 0), `sparse_prediction = True` (head and decoder only on the
    labelled positions, as the recipe and mbert do), `torch.set_num_threads(N)`,
    `torch.set_num_interop_threads(1)`;
  * `optimi.StableAdamW`, lr = max_lr = bench_train's lr, betas (0.9, 0.98), eps 1e-6,
    `decouple_lr=True`, weight decay 1e-5 on parameters with ndim >= 2 not named *.bias and 0 on
    the others (ModernBERT main.py param groups), optimi's default implementation for CPU tensors.
transformers 5.23 has no packed path, so each packed row (one micro-batch in both systems) becomes
a right-padded [docs_in_row, longest_doc] batch with attention_mask and labels -100 at padding;
the row's trailing pad pseudo-sequence, which carries no labels, is dropped. Each row's loss is
scaled by its share of the step's predicted tokens before backward, so the summed gradient is the
gradient of the mean loss over all predicted tokens (what bench_train and the trainer compute).
The padded tensors are built before the clock starts. One warm-up step, then S timed steps
(zero_grad, forward+backward per row, optimizer step); tokens/s counts real tokens over the
median step time.

Same-run check: the loss of the first step (initial weights, same masked batch) must agree with
mbert's to ~1e-4; later steps' losses are printed side by side too (they diverge slowly with the
different rounding of the two systems).

Writes DIR/torch_train.json and prints the comparison; --table prints one line per DIR from the
two json files (what bench/run_train_bench.sh shows at the end).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve()
BETAS = (0.9, 0.98)
EPS = 1e-6
WEIGHT_DECAY = 1e-5
LOSS_TOLERANCE = 1e-4


def load_rows(path):
    """[(docs, labels)] per packed row: lists of int64 arrays, one per real document."""
    from safetensors.numpy import load_file

    t = load_file(str(path))
    rows = []
    r = 0
    while f"row{r}.input_ids" in t:
        ids, lab = t[f"row{r}.input_ids"].astype(np.int64), t[f"row{r}.labels"].astype(np.int64)
        cu, real = t[f"row{r}.cu_seqlens"].astype(np.int64), int(t[f"row{r}.real_seqs"][0])
        if cu[0] != 0 or cu[-1] != ids.size or lab.size != ids.size or not 0 < real < cu.size:
            raise SystemExit(f"{path}: row {r} is inconsistent (cu_seqlens must run from 0 to "
                             f"len(input_ids), one label per id); rewrite it with bench_train")
        if np.any(lab[cu[real]:] != -100):
            raise SystemExit(f"{path}: row {r} has labels in its padding segment")
        rows.append(([ids[cu[i]:cu[i + 1]] for i in range(real)],
                     [lab[cu[i]:cu[i + 1]] for i in range(real)]))
        r += 1
    if not rows:
        raise SystemExit(f"{path}: no row0.input_ids; rewrite it with bench_train")
    return rows


def padded(docs, labels, pad_id):
    import torch

    S = max(len(d) for d in docs)
    ids = torch.full((len(docs), S), pad_id, dtype=torch.long)
    mask = torch.zeros((len(docs), S), dtype=torch.long)
    lab = torch.full((len(docs), S), -100, dtype=torch.long)
    for b, (d, l) in enumerate(zip(docs, labels)):
        ids[b, :len(d)] = torch.from_numpy(d)
        mask[b, :len(d)] = 1
        lab[b, :len(d)] = torch.from_numpy(l)
    return ids, mask, lab


def worker(args):
    import torch

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    from optimi import StableAdamW
    from transformers import ModernBertForMaskedLM

    d = Path(args.dir)
    mb = json.loads((d / "mbert_train.json").read_text())
    lr = float(mb["lr"])
    model = ModernBertForMaskedLM.from_pretrained(d / "model", dtype=torch.float32,
                                                  attn_implementation="sdpa")
    model.train()
    model.sparse_prediction = True
    rows = load_rows(d / "batch.safetensors")
    pad_id = model.config.pad_token_id
    batches = [padded(docs, labels, pad_id) for docs, labels in rows]
    real_tokens = sum(int(m.sum()) for _, m, _ in batches)
    predicted = [int((lab != -100).sum()) for _, _, lab in batches]
    total_pred = sum(predicted)
    padded_positions = sum(int(ids.numel()) for ids, _, _ in batches)

    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or n.endswith(".bias") else decay).append(p)
    opt = StableAdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                       {"params": no_decay, "weight_decay": 0.0}],
                      lr=lr, betas=BETAS, eps=EPS, decouple_lr=True, triton=False,
                      foreach=args.foreach)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    losses, step_s, fb_s, opt_s = [], [], [], []
    for step in range(args.steps + 1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss_sum = 0.0
        for (ids, mask, lab), n in zip(batches, predicted):
            if n == 0:
                continue
            out = model(input_ids=ids, attention_mask=mask, labels=lab)
            part = out.loss * (n / total_pred)
            part.backward()
            loss_sum += float(part.detach())
        t1 = time.perf_counter()
        opt.step()
        t2 = time.perf_counter()
        losses.append(loss_sum)
        if step == 0:
            continue
        step_s.append(t2 - t0)
        fb_s.append(t1 - t0)
        opt_s.append(t2 - t1)
        print(f"  step {step}: {t2 - t0:.3f} s (forward+backward {t1 - t0:.3f}, optimizer "
              f"{t2 - t1:.3f}), loss {loss_sum:.6f}", file=sys.stderr, flush=True)
    med = float(np.median(step_s))
    group = opt.param_groups[0]
    return {
        "system": "torch",
        "versions": {"torch": torch.__version__,
                     "transformers": __import__("transformers").__version__,
                     "optimi": __import__("optimi").__version__},
        "threads": args.threads,
        "optimizer": {"class": "optimi.StableAdamW", "lr": lr, "betas": list(BETAS), "eps": EPS,
                      "weight_decay": WEIGHT_DECAY, "decouple_lr": True,
                      "foreach": group.get("foreach"), "triton": group.get("triton")},
        "rows": len(batches),
        "padded_shapes": [list(ids.shape) for ids, _, _ in batches],
        "padded_positions": padded_positions,
        "real_tokens": real_tokens,
        "predicted": total_pred,
        "steps": args.steps,
        "seconds_per_step": step_s,
        "seconds_median": med,
        "forward_backward_median": float(np.median(fb_s)),
        "optimizer_median": float(np.median(opt_s)),
        "tokens_per_s": real_tokens / med,
        "losses": losses,
        "first_loss": losses[0],
        "rss_before_first_step_mb": rss_before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def run_peer(args):
    cmd = [sys.executable, str(SCRIPT), "--worker", "--dir", args.dir, "--threads",
           str(args.threads), "--steps", str(args.steps), "--foreach", str(args.foreach)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"torch worker failed (exit {proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def fmt_mb(x):
    return f"{x:.0f}MB" if x is not None else "-"


def table(dirs):
    print(f"{'shape':<6} {'rows x T':>10} {'real tok':>8} {'mbert tok/s':>11} {'torch tok/s':>11} "
          f"{'ratio':>6} {'mbert RSS':>9} {'torch RSS':>9} {'loss diff':>9} {'load':>5}")
    for d in dirs:
        d = Path(d)
        mb = json.loads((d / "mbert_train.json").read_text())
        tp = json.loads((d / "torch_train.json").read_text())
        ratio = mb["tokens_per_s"] / tp["tokens_per_s"]
        diff = abs(mb["first_loss"] - tp["first_loss"])
        print(f"{mb['shape']:<6} {mb['rows']:>4} x {mb['row_tokens']:<4} {mb['real_tokens']:>8} "
              f"{mb['tokens_per_s']:>11.1f} {tp['tokens_per_s']:>11.1f} {ratio:>5.2f}x "
              f"{fmt_mb(mb['peak_rss_mb']):>9} {fmt_mb(tp['peak_rss_mb']):>9} {diff:>9.1e} "
              f"{mb.get('load_average_1min_end', -1):>5.1f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", help="what bench_train --out wrote")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5, help="timed steps after one warm-up step")
    ap.add_argument("--foreach", type=int, choices=(0, 1), default=1,
                    help="optimi's foreach (1, its faster CPU path) or for-loop (0) implementation")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--table", nargs="+", metavar="DIR", help="print the table of these runs")
    args = ap.parse_args()
    if args.table:
        table(args.table)
        return 0
    if not args.dir:
        ap.error("--dir DIR is required (the --out of bench_train)")
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    d = Path(args.dir)
    if not (d / "mbert_train.json").exists():
        raise SystemExit(f"{d}/mbert_train.json missing: run bench_train --out {d} first")
    mb = json.loads((d / "mbert_train.json").read_text())
    tp = run_peer(args)
    tp["load_average_1min_end"] = os.getloadavg()[0]
    (d / "torch_train.json").write_text(json.dumps(tp, indent=2))
    if tp["real_tokens"] != mb["real_tokens"] or tp["predicted"] != mb["predicted"]:
        raise SystemExit(f"token counts differ: torch {tp['real_tokens']}/{tp['predicted']} vs "
                         f"mbert {mb['real_tokens']}/{mb['predicted']} (real/predicted)")
    print(f"torch: {tp['tokens_per_s']:.1f} tokens/s, {tp['seconds_median']:.3f} s/step (median "
          f"of {tp['steps']}; forward+backward {tp['forward_backward_median']:.3f}, optimizer "
          f"{tp['optimizer_median']:.3f}), padded positions {tp['padded_positions']} for "
          f"{tp['real_tokens']} real tokens, peak RSS {tp['peak_rss_mb']:.0f} MB")
    print("losses per step (step 0 = warm-up, initial weights):")
    for k, (a, b) in enumerate(zip(mb["losses"], tp["losses"])):
        print(f"  {k}: mbert {a:.6f}  torch {b:.6f}  |diff| {abs(a - b):.2e}")
    diff = abs(mb["first_loss"] - tp["first_loss"])
    if diff > LOSS_TOLERANCE:
        print(f"WARNING: first-step losses differ by {diff:.2e} > {LOSS_TOLERANCE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
