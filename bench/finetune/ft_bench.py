#!/usr/bin/env python3
"""Fine-tuning throughput: `mbert finetune` beside transformers' Trainer, in one run, on the same
SST-2 sentences, model weights, batch size, max length, lr schedule and thread count.

Usage (bench/finetune/run.sh wraps it):
  /work/venv/bin/python bench/finetune/ft_bench.py --shape small --out DIR [--steps 40]
      [--threads 2] [--batch-size 32] [--max-length 128] [--peers "trainer trainer-glen"]
      [--mbert build/tools/mbert/mbert] [--glue /work/shared/data/glue]
  /work/venv/bin/python bench/finetune/ft_bench.py --table DIR [DIR ...]

For a shape (small: hidden 256, intermediate 384, 6 layers, 4 heads; base: ModernBERT-base,
768/1152/22/12; both local_attention 128, global every 3rd layer, vocab 50368) it
  1. writes DIR/model once: `ModernBertForSequenceClassification` (2 labels, fp32) randomly
     initialised under `torch.manual_seed(0)` and saved with `save_pretrained`, plus the
     ModernBERT tokenizer files; both systems load this directory;
  2. writes DIR/train.tsv (the first steps x batch-size sentences of GLUE SST-2 train, so one
     epoch is exactly `steps` optimizer steps) and DIR/dev.tsv (32 sentences: mbert evaluates at
     the epoch's end, after the last timed step);
  3. runs `mbert finetune --task glue:sst2 --epochs 1` (lr 8e-5, weight decay 1e-5, warmup ratio
     0.1, max grad norm 1, seed 42) in a subprocess, `--threads T`, OMP_NUM_THREADS=T;
  4. runs each peer in a subprocess of its own (this script with --worker):
       * trainer: `Trainer` + `ModernBertForSequenceClassification.from_pretrained(DIR/model)`
         (fp32, default attention: sdpa), its default optimizer (AdamW, torch fused), linear
         schedule with the same warmup steps, `DataCollatorWithPadding` (pad to the longest in
         the batch), `torch.set_num_threads(T)`, one interop thread; the batches are mbert's own
         (its seeded shuffle replayed here), so every step's loss is checked against mbert's (the
         first to 1e-4: same weights, same batch; later ones drift slowly with rounding);
       * trainer-glen: the same with `train_sampling_strategy="group_by_length"` (Trainer's
         LengthGroupedSampler: its own order, batches of similar lengths, less padding).
     Trainer has no packing for sequence classification; it is not run.
  5. prints a table and writes DIR/results.json.

Timing: per optimizer step (mbert: the step's time from metrics.jsonl, i.e. tokens /
tokens_per_s; Trainer: on_step_begin to on_step_end, which covers forward, backward, clipping,
optimizer and scheduler step, not the DataLoader fetch). The first 2 steps are warm-up; tokens/s =
real (non-pad) tokens of the remaining steps / their summed time. Wall seconds and peak RSS
(ru_maxrss from wait4) are each whole process: model load, tokenization, and for mbert the
epoch-end evaluation of 32 sentences and its checkpoint + best/ writes (Trainer saves nothing).
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parents[2]
SHAPES = {
    "small": dict(hidden_size=256, intermediate_size=384, num_hidden_layers=6, num_attention_heads=4),
    "base": dict(hidden_size=768, intermediate_size=1152, num_hidden_layers=22, num_attention_heads=12),
}
LR = 8e-5
WEIGHT_DECAY = 1e-5
WARMUP_RATIO = 0.1
SEED = 42
WARMUP_STEPS_EXCLUDED = 2
DEV_SENTENCES = 32
LOSS_TOLERANCE = 1e-4
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
M64 = (1 << 64) - 1


# ---- mbert's data order (src/batch/rng.{h,cpp}, src/train/finetune_run.cpp EpochBatches) ----
class MbertRng:
    """xoshiro256** seeded through splitmix64, as mbert::Rng."""

    def __init__(self, seed):
        self.s = []
        x = seed & M64
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & M64

    def next_u64(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def uniform_int(self, n):
        m = self.next_u64() * n
        low = m & M64
        if low < n:
            threshold = ((1 << 64) - n) % n
            while low < threshold:
                m = self.next_u64() * n
                low = m & M64
        return m >> 64


def mbert_batches(n_examples, batch_size, seed=SEED, epoch=0):
    """The index lists of mbert finetune's batches for one epoch (no --batch-tokens)."""
    order = list(range(n_examples))
    rng = MbertRng((seed * 0x9E3779B97F4A7C15 + epoch + 1) & M64)
    for i in range(n_examples, 1, -1):
        j = rng.uniform_int(i)
        order[i - 1], order[j] = order[j], order[i - 1]
    return [order[i:i + batch_size] for i in range(0, n_examples, batch_size)]


# ---- setup ----
def write_model(model_dir, shape, tokenizer_dir):
    import torch
    from transformers import ModernBertConfig, ModernBertForSequenceClassification

    base = json.loads((tokenizer_dir / "config.json").read_text())
    for k in ("_name_or_path", "architectures", "transformers_version", "torch_dtype"):
        base.pop(k, None)
    base.update(SHAPES[shape])
    base.update(num_labels=2, id2label={0: "0", 1: "1"}, label2id={"0": 0, "1": 1})
    cfg = ModernBertConfig(**base)
    torch.manual_seed(0)
    model = ModernBertForSequenceClassification(cfg).float()
    tmp = model_dir.with_name(model_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    for f in TOKENIZER_FILES:
        shutil.copy(tokenizer_dir / f, tmp / f)
    tmp.rename(model_dir)
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {model_dir} ({shape}, {n / 1e6:.1f} M parameters)", flush=True)


def write_data(d, glue, n_train):
    lines = (glue / "SST-2" / "train.tsv").read_text(encoding="utf-8").splitlines()
    if len(lines) - 1 < n_train:
        sys.exit(f"SST-2 train has {len(lines) - 1} sentences, fewer than {n_train}")
    (d / "train.tsv").write_text("\n".join(lines[:n_train + 1]) + "\n", encoding="utf-8")
    dev = (glue / "SST-2" / "test.tsv").read_text(encoding="utf-8").splitlines()
    (d / "dev.tsv").write_text("\n".join(dev[:DEV_SENTENCES + 1]) + "\n", encoding="utf-8")


def read_tsv(path):
    rows = path.read_text(encoding="utf-8").splitlines()[1:]
    out = []
    for r in rows:
        text, label = r.rsplit("\t", 1)
        out.append((text, int(label)))
    return out


def run_measured(cmd, env, log):
    """Runs cmd; returns (rc, wall seconds, peak RSS MB of that process)."""
    t0 = time.perf_counter()
    with open(log, "w") as f:
        p = subprocess.Popen(cmd, env=env, stdout=f, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    return os.waitstatus_to_exitcode(status), wall, ru.ru_maxrss / 1024.0


def timed_summary(step_secs, step_tokens, padded=None):
    s = slice(WARMUP_STEPS_EXCLUDED, None)
    secs, toks = sum(step_secs[s]), sum(step_tokens[s])
    out = {"steps": len(step_secs), "timed_steps": len(step_secs[s]), "timed_seconds": secs,
           "timed_real_tokens": toks, "tokens_per_s": toks / secs if secs > 0 else 0.0,
           "median_step_s": sorted(step_secs[s])[len(step_secs[s]) // 2] if step_secs[s] else 0.0}
    if padded is not None:
        out["timed_padded_tokens"] = sum(padded[s])
    return out


# ---- mbert ----
def run_mbert(a, d, steps, env):
    out = d / "mbert-run"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [a.mbert, "--threads", str(a.threads), "finetune", "--model", str(d / "model"),
           "--task", "glue:sst2", "--train", str(d / "train.tsv"), "--dev", str(d / "dev.tsv"),
           "--out", str(out), "--lr", str(LR), "--weight-decay", str(WEIGHT_DECAY),
           "--warmup-ratio", str(WARMUP_RATIO), "--epochs", "1", "--batch-size",
           str(a.batch_size), "--max-length", str(a.max_length), "--truncate", "--seed", str(SEED),
           "--max-grad-norm", "1.0", "--quiet"]
    rc, wall, rss = run_measured(cmd, env, d / "mbert.log")
    if rc != 0:
        print((d / "mbert.log").read_text()[-3000:], file=sys.stderr)
        sys.exit(f"mbert finetune failed (rc {rc}); log {d / 'mbert.log'}")
    recs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps_recs = [r for r in recs if "loss" in r and "eval" not in r]
    secs = [r["tokens"] / r["tokens_per_s"] for r in steps_recs]
    toks = [r["tokens"] for r in steps_recs]
    res = {"system": "mbert", "wall_s": wall, "peak_rss_mb": rss, "losses": [r["loss"] for r in steps_recs],
           "step_tokens": toks, "step_seconds": secs, **timed_summary(secs, toks)}
    res["timed_padded_tokens"] = res["timed_real_tokens"]  # packed: no padding
    if len(steps_recs) != steps:
        sys.exit(f"mbert ran {len(steps_recs)} steps, expected {steps}")
    return res


# ---- Trainer worker ----
def worker(a):
    import torch

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    from torch.utils.data import Dataset, Sampler
    from transformers import (AutoTokenizer, DataCollatorWithPadding,
                              ModernBertForSequenceClassification, Trainer, TrainerCallback,
                              TrainingArguments)

    d = Path(a.dir)
    tok = AutoTokenizer.from_pretrained(d / "model")
    rows = read_tsv(d / "train.tsv")
    enc = tok([t for t, _ in rows], truncation=True, max_length=a.max_length)
    feats = [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
              "labels": rows[i][1]} for i in range(len(rows))]

    class Feats(Dataset):
        def __len__(self):
            return len(feats)

        def __getitem__(self, i):
            return feats[i]

    steps = math.ceil(len(feats) / a.batch_size)
    warmup = math.ceil(WARMUP_RATIO * steps)  # mbert's rounding
    model = ModernBertForSequenceClassification.from_pretrained(d / "model", dtype=torch.float32)
    args = TrainingArguments(
        output_dir=str(d / f"{a.worker}-run"), per_device_train_batch_size=a.batch_size,
        num_train_epochs=1, learning_rate=LR, weight_decay=WEIGHT_DECAY, warmup_steps=warmup,
        lr_scheduler_type="linear", max_grad_norm=1.0, seed=SEED, use_cpu=True,
        eval_strategy="no", save_strategy="no", logging_strategy="no",
        report_to="none", disable_tqdm=True, dataloader_num_workers=0,
        train_sampling_strategy="group_by_length" if a.worker == "trainer-glen" else "random")

    step_secs, step_tokens, step_padded, losses = [], [], [], []

    class Timer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            step_secs.append(time.perf_counter() - self.t0)

    class MbertOrder(Sampler):
        def __iter__(self):
            for b in mbert_batches(len(feats), a.batch_size):
                yield from b

        def __len__(self):
            return len(feats)

    class BenchTrainer(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            if a.worker == "trainer":
                return MbertOrder()
            return super()._get_train_sampler(train_dataset)

        def training_step(self, model, inputs, num_items_in_batch=None):
            m = inputs["attention_mask"]
            step_tokens.append(int(m.sum()))
            step_padded.append(int(m.numel()))
            loss = super().training_step(model, inputs, num_items_in_batch)
            losses.append(float(loss))
            return loss

    trainer = BenchTrainer(model=model, args=args, train_dataset=Feats(),
                           data_collator=DataCollatorWithPadding(tok), processing_class=tok,
                           callbacks=[Timer()])
    trainer.train()
    res = {"system": a.worker, "attn_implementation": model.config._attn_implementation,
           "optimizer": type(trainer.optimizer.optimizer if hasattr(trainer.optimizer, "optimizer")
                             else trainer.optimizer).__name__, "optim": str(args.optim),
           "warmup_steps": warmup, "losses": losses, "step_tokens": step_tokens,
           "step_padded_tokens": step_padded, "step_seconds": step_secs,
           **timed_summary(step_secs, step_tokens, step_padded)}
    (d / f"{a.worker}.json").write_text(json.dumps(res, indent=1))


# ---- driver ----
def bench(a):
    d = Path(a.out).resolve()
    d.mkdir(parents=True, exist_ok=True)
    tokdir = Path(a.tokenizer).resolve()
    if not (d / "model" / "config.json").exists():
        write_model(d / "model", a.shape, tokdir)
    n_train = a.steps * a.batch_size
    write_data(d, Path(a.glue), n_train)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), TOKENIZERS_PARALLELISM="false")
    meta = {"shape": a.shape, **SHAPES[a.shape], "steps": a.steps, "batch_size": a.batch_size,
            "max_length": a.max_length, "threads": a.threads, "train_sentences": n_train,
            "lr": LR, "weight_decay": WEIGHT_DECAY, "warmup_ratio": WARMUP_RATIO,
            "warmup_steps_excluded": WARMUP_STEPS_EXCLUDED, "cpu": cpu_name(),
            "commit": git_commit(), "load_before": os.getloadavg()}
    print(f"== {a.shape}: {a.steps} steps x {a.batch_size} sentences (max length {a.max_length}),"
          f" {a.threads} threads, load {os.getloadavg()[0]:.2f}", flush=True)
    runs = [run_mbert(a, d, a.steps, env)]
    print(f"mbert: {runs[0]['tokens_per_s']:.1f} tokens/s, {runs[0]['wall_s']:.1f} s wall", flush=True)
    for peer in a.peers.split():
        cmd = [sys.executable, str(SCRIPT), "--worker", peer, "--dir", str(d), "--threads",
               str(a.threads), "--batch-size", str(a.batch_size), "--max-length", str(a.max_length)]
        (d / f"{peer}.json").unlink(missing_ok=True)
        rc, wall, rss = run_measured(cmd, env, d / f"{peer}.log")
        if rc != 0 or not (d / f"{peer}.json").exists():
            print((d / f"{peer}.log").read_text()[-3000:], file=sys.stderr)
            runs.append({"system": peer, "failed": f"rc {rc}, log {d / f'{peer}.log'}"})
            continue
        r = json.loads((d / f"{peer}.json").read_text())
        r.update(wall_s=wall, peak_rss_mb=rss)
        runs.append(r)
        print(f"{peer}: {r['tokens_per_s']:.1f} tokens/s, {wall:.1f} s wall", flush=True)
    checks = {}
    m = runs[0]
    for r in runs[1:]:
        if r.get("system") == "trainer" and "failed" not in r:
            checks["same_batches"] = r["step_tokens"] == m["step_tokens"]
            if r["losses"]:
                checks["first_loss_mbert"] = m["losses"][0]
                checks["first_loss_trainer"] = r["losses"][0]
                checks["first_loss_abs_diff"] = abs(m["losses"][0] - r["losses"][0])
                checks["max_loss_abs_diff"] = max(abs(x - y) for x, y in zip(m["losses"], r["losses"]))
    meta["load_after"] = os.getloadavg()
    result = {**meta, "checks": checks, "runs": runs}
    (d / "results.json").write_text(json.dumps(result, indent=1))
    if checks.get("same_batches") is False:
        print("WARNING: the Trainer's batches differ from mbert's (token counts per step)")
    if checks.get("first_loss_abs_diff", 0.0) > LOSS_TOLERANCE:
        print(f"WARNING: first-step losses differ by {checks['first_loss_abs_diff']:.2e}")
    print()
    print_table([result])


def print_table(results):
    print("| shape | system | steps (timed) | real tokens timed | padded | tokens/s | mbert / this |"
          " wall s | peak RSS MB | first loss |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for res in results:
        m = res["runs"][0]
        for r in res["runs"]:
            if "failed" in r:
                print(f"| {res['shape']} | {r['system']} | failed: {r['failed']} |||||||")
                continue
            ratio = m["tokens_per_s"] / r["tokens_per_s"] if r["tokens_per_s"] else float("nan")
            print(f"| {res['shape']} | {r['system']} | {r['steps']} ({r['timed_steps']}) | "
                  f"{r['timed_real_tokens']:,} | {r['timed_padded_tokens']:,} | "
                  f"{r['tokens_per_s']:.1f} | {ratio:.2f}x | {r['wall_s']:.1f} | "
                  f"{r['peak_rss_mb']:.0f} | {r['losses'][0] if r['losses'] else float('nan'):.6f} |")
    for res in results:
        c = res["checks"]
        la, lb = res.get("load_before", [0])[0], res.get("load_after", [0])[0]
        print(f"\n{res['shape']}: {res['threads']} threads, batch {res['batch_size']}, max length "
              f"{res['max_length']}, first {res['warmup_steps_excluded']} steps excluded; "
              f"same batches as mbert: {c.get('same_batches')}; |first-loss diff| "
              f"{c.get('first_loss_abs_diff', float('nan')):.2e} (any step "
              f"{c.get('max_loss_abs_diff', float('nan')):.2e}); load {la:.2f} -> {lb:.2f}; "
              f"{res['cpu']}; commit {res['commit']}")


def cpu_name():
    model, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")
           if f in flags]
    return f"{model} ({os.cpu_count()} CPUs; {' '.join(isa) or 'no AVX2'})"


def git_commit():
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", choices=sorted(SHAPES), default="small")
    p.add_argument("--out")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--peers", default="trainer trainer-glen")
    p.add_argument("--mbert", default=os.environ.get("MBERT_BIN", str(ROOT / "build/tools/mbert/mbert")))
    p.add_argument("--glue", default=str(ROOT.parent / "shared/data/glue"))
    p.add_argument("--tokenizer", default=str(ROOT.parent / "shared/data/modernbert-base"),
                   help="directory with the ModernBERT tokenizer files and base config.json")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--dir", help=argparse.SUPPRESS)
    p.add_argument("--table", nargs="+", metavar="DIR")
    a = p.parse_args()
    if a.worker:
        return worker(a)
    if a.table:
        return print_table([json.loads((Path(x) / "results.json").read_text()) for x in a.table])
    if not a.out:
        p.error("--out is required")
    if a.steps <= WARMUP_STEPS_EXCLUDED:
        p.error(f"--steps must exceed the {WARMUP_STEPS_EXCLUDED} warm-up steps")
    bench(a)


if __name__ == "__main__":
    main()
