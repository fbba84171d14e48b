#!/usr/bin/env python3
"""Peer benchmarks beside `mbert bench`: transformers on PyTorch CPU and ONNX Runtime CPU.

Usage: /work/venv/bin/python bench/peers/peers.py --dir DIR --threads T
           [--workloads fixed512 varshort ...] [--repeats R] [--peers torch ort]

DIR is what `mbert bench --out DIR` (or bench/peers/make_inputs.py) wrote: DIR/model (an HF
ModernBertModel directory, fp32 safetensors), DIR/inputs-<workload>.safetensors (`input_ids` I32
(N,), `cu_seqlens` I32 (B+1,)), and from mbert DIR/outputs-<workload>.safetensors
(`last_hidden_state` F32 of the first min(B, 4) sequences, packed) and DIR/mbert.json.

For every workload whose inputs file is present, each peer runs in a subprocess of its own (this
script re-invoking itself with --worker), so that its peak RSS (from wait4) is its own and each
peer starts with a clean allocator:
  * torch: `AutoModel.from_pretrained(DIR/model, attn_implementation="sdpa", dtype=float32)`,
    eval, `torch.inference_mode()`, `set_num_threads(T)`, `set_num_interop_threads(1)`;
  * ort: DIR/model.onnx (exported once from the same model by torch.onnx's dynamo exporter with
    dynamic batch and sequence axes, opset 18, and checked against torch at other shapes), an
    `InferenceSession` on the CPU EP with `intra_op_num_threads=T`, `inter_op_num_threads=1`,
    sequential execution, all graph optimisations.
Both get the same padded batches, built as a user would: sequences in file order (no sorting),
8 per batch for workloads of texts up to 512 tokens and 1 per batch for long ones, right padding
with the model's pad id and an `attention_mask`. Timing: one warm-up batch (the first one, cut
to 512 positions), then the median of R passes over the whole workload; tokens/s counts real
tokens only. The padded batches are built before the clock starts (mbert's timing likewise
starts from token ids).

Correctness in the same run: max |mbert - torch| over the real positions of the rows mbert wrote
to outputs-<workload>.safetensors, and max |ort - torch| over the same rows, so a speed-up never
comes from computing something else.

Writes DIR/peers.json and prints one table: tokens/s per peer, mbert/torch and mbert/ort ratios,
the two errors and each peer's peak RSS. Workloads in SINGLE_THREAD (latency128) run on one
thread in every peer, as mbert runs them.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads as wl  # noqa: E402

SCRIPT = Path(__file__).resolve()
PEERS = ("torch", "ort")
SAMPLE_SEQS = 4  # mbert writes the outputs of the first min(B, 4) sequences
WARMUP_LEN = 512


# ----------------------------------------------------------------------------- inputs and batches


def load_inputs(path):
    """The packed workload: list of int64 arrays, one per sequence."""
    from safetensors.numpy import load_file

    t = load_file(str(path))
    ids, cu = t["input_ids"].astype(np.int64), t["cu_seqlens"].astype(np.int64)
    if cu.ndim != 1 or cu.size < 2 or cu[0] != 0 or cu[-1] != ids.size or np.any(np.diff(cu) <= 0):
        raise SystemExit(f"{path}: cu_seqlens must start at 0, rise strictly and end at "
                         f"len(input_ids) = {ids.size}; rewrite the file with mbert bench")
    return [ids[cu[i]:cu[i + 1]] for i in range(cu.size - 1)]


def make_batches(seqs, pad_id):
    """Right-padded (ids, mask, lengths) batches in file order; ids and mask int64 (b, S)."""
    bs = wl.batch_size(max(len(s) for s in seqs))
    batches = []
    for start in range(0, len(seqs), bs):
        chunk = seqs[start:start + bs]
        S = max(len(s) for s in chunk)
        ids = np.full((len(chunk), S), pad_id, dtype=np.int64)
        mask = np.zeros((len(chunk), S), dtype=np.int64)
        for r, s in enumerate(chunk):
            ids[r, :len(s)] = s
            mask[r, :len(s)] = 1
        batches.append((ids, mask, [len(s) for s in chunk]))
    return batches


def unpad(hidden, lengths):
    """(b, S, C) padded output -> (sum(lengths), C) real positions, sequences one after another."""
    return np.concatenate([hidden[r, :n] for r, n in enumerate(lengths)], axis=0)


def workload_threads(name, threads, mbert):
    """Threads for a workload: what mbert used if it says so, else one for latency, else T."""
    w = (mbert or {}).get("workloads", {}).get(name, {})
    if "threads" in w:
        return int(w["threads"])
    return 1 if name in wl.SINGLE_THREAD else threads


# ----------------------------------------------------------------------------- workers (subprocess)


def warmup_batch(batches):
    """The first batch cut to WARMUP_LEN positions: initialises thread pools, allocators and
    kernels without paying for a whole 8192-token sequence before the clock starts."""
    ids, mask, lengths = batches[0]
    return (np.ascontiguousarray(ids[:, :WARMUP_LEN]), np.ascontiguousarray(mask[:, :WARMUP_LEN]),
            [min(n, WARMUP_LEN) for n in lengths])


def time_passes(run_batch, warmup, batches, repeats, keep_seqs):
    """One warm-up batch, then `repeats` timed passes; returns (seconds, sample)."""
    run_batch(warmup)
    times, sample, kept = [], [], 0
    for r in range(repeats):
        outs = []
        t0 = time.perf_counter()
        for b in batches:
            out = run_batch(b)
            if r == 0 and kept < keep_seqs:
                outs.append((out, b[2]))
                kept += len(b[2])
        times.append(time.perf_counter() - t0)
        # converting and unpadding outside the clock
        for out, lengths in outs:
            sample.append(unpad(np.asarray(out), lengths))
    rows = np.concatenate(sample, axis=0)
    return times, rows


def worker(args):
    from safetensors.numpy import save_file

    seqs = load_inputs(args.dir / f"inputs-{args.workload}.safetensors")
    config = json.loads((args.dir / "model" / "config.json").read_text())
    batches = make_batches(seqs, int(config["pad_token_id"]))
    keep = min(len(seqs), SAMPLE_SEQS)
    keep_rows = sum(len(s) for s in seqs[:keep])
    threads = args.threads

    info = {}
    if args.worker == "torch":
        import torch
        import transformers
        from transformers import AutoModel

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        model = AutoModel.from_pretrained(str(args.dir / "model"), attn_implementation="sdpa",
                                          dtype=torch.float32).eval()
        tensors = [(torch.from_numpy(i), torch.from_numpy(m), n)
                   for i, m, n in [warmup_batch(batches)] + batches]

        def run_batch(b):
            with torch.inference_mode():
                return model(input_ids=b[0], attention_mask=b[1]).last_hidden_state

        info["versions"] = {"torch": torch.__version__, "transformers": transformers.__version__}
        info["attn_implementation"] = model.config._attn_implementation
        times, rows = time_passes(run_batch, tensors[0], tensors[1:], args.repeats, keep)
    else:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(str(args.dir / "model.onnx"), so,
                                    providers=["CPUExecutionProvider"])

        def run_batch(b):
            return sess.run(["last_hidden_state"], {"input_ids": b[0], "attention_mask": b[1]})[0]

        info["versions"] = {"onnxruntime": ort.__version__}
        try:
            times, rows = time_passes(run_batch, warmup_batch(batches), batches, args.repeats,
                                      keep)
        except Exception as e:  # onnxruntime raises its own RuntimeException on a failed alloc
            first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
            args.result.write_text(json.dumps({"error": f"failed: {first}"}, indent=2))
            sys.exit(3)

    rows = rows[:keep_rows]
    save_file({"last_hidden_state": np.ascontiguousarray(rows, dtype=np.float32)},
              str(args.dir / f"peer-outputs-{args.worker}-{args.workload}.safetensors"))
    tokens = sum(len(s) for s in seqs)
    padded = sum(b[0].size for b in batches)
    med = float(np.median(times))
    info.update(threads=threads, sequences=len(seqs), tokens=tokens, padded_tokens=padded,
                batches=len(batches), batch_size=wl.batch_size(max(len(s) for s in seqs)),
                seconds_all=times, seconds_median=med, tokens_per_s=tokens / med)
    args.result.write_text(json.dumps(info, indent=2, sort_keys=True))


def export_onnx(args):
    """DIR/model.onnx from DIR/model; checks ORT against torch at shapes other than the trace's."""
    import onnxruntime as ort
    import torch
    from transformers import AutoModel

    torch.set_num_threads(args.threads)
    model = AutoModel.from_pretrained(str(args.dir / "model"), attn_implementation="sdpa",
                                      dtype=torch.float32).eval()

    class LastHidden(torch.nn.Module):
        """Named inputs in, last_hidden_state out: the graph a user would export."""

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    wrapped = LastHidden(model).eval()
    # The trace example has padding and a length past the local window (128), so the general
    # mask path (padding + sliding window) is what gets exported, not the no-padding shortcut.
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(wl.ID_LO, wl.ID_HI, (2, 200), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 150:] = 0
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
    out = args.dir / "model.onnx"
    t0 = time.perf_counter()
    torch.onnx.export(wrapped, (ids, mask), str(out), dynamo=True, opset_version=18,
                      input_names=["input_ids", "attention_mask"],
                      output_names=["last_hidden_state"],
                      dynamic_shapes={"input_ids": {0: batch, 1: seq},
                                      "attention_mask": {0: batch, 1: seq}},
                      external_data=True, verbose=False)
    seconds = time.perf_counter() - t0

    # shapes unlike the trace: no padding, shorter and longer than the window, more rows
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    worst = 0.0
    for b, n, pad in [(3, 300, True), (1, 50, False), (1, 700, False)]:
        ids = torch.randint(wl.ID_LO, wl.ID_HI, (b, n), generator=g)
        mask = torch.ones_like(ids)
        if pad:
            mask[-1, n // 2:] = 0
        with torch.inference_mode():
            ref = wrapped(ids, mask).numpy()
        got = sess.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
        real = mask.numpy().astype(bool)
        worst = max(worst, float(np.abs(got - ref)[real].max()))
    info = {"exporter": "torch.onnx.export(dynamo=True)", "opset": 18, "seconds": seconds,
            "check_max_abs_err_vs_torch": worst}
    print(f"exported {out} in {seconds:.0f} s; ORT vs torch at 3 other shapes: "
          f"max |err| {worst:.2e}", file=sys.stderr)
    if worst > 1e-3:
        raise SystemExit(f"{out}: ONNX export disagrees with torch (max |err| {worst:.2e})")
    args.result.write_text(json.dumps(info, indent=2, sort_keys=True))


# ----------------------------------------------------------------------------- orchestration


def mem_available_bytes():
    with open("/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


def run_child(argv, env, mem_limit=None):
    """Runs this script as a child; returns (exit code, peak RSS of that child in MB).

    mem_limit (bytes) caps the child's address space, so a peer that would exhaust the machine's
    memory fails with an allocation error instead of waking the kernel's OOM killer, which could
    pick another user's process on this shared machine.
    """
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (mem_limit, mem_limit))

    proc = subprocess.Popen([sys.executable, str(SCRIPT)] + argv, env=env,
                            preexec_fn=limit if mem_limit else None)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024.0  # Linux reports KiB


def child_env(threads):
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error",
               HF_HUB_DISABLE_PROGRESS_BARS="1", TOKENIZERS_PARALLELISM="false")
    return env


def load_rows(path):
    from safetensors.numpy import load_file

    return load_file(str(path))["last_hidden_state"] if path.exists() else None


def max_err(a, b):
    if a is None or b is None:
        return None
    if a.shape != b.shape:
        return f"shape {list(a.shape)} vs {list(b.shape)}"
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


def ensure_onnx(args):
    onnx_path = args.dir / "model.onnx"
    weights = args.dir / "model" / "model.safetensors"
    info_path = args.dir / "model.onnx.json"
    fresh = (onnx_path.exists() and info_path.exists()
             and onnx_path.stat().st_mtime >= weights.stat().st_mtime)
    if not fresh:
        code, rss = run_child(["--export", "--dir", str(args.dir), "--threads", str(args.threads),
                               "--result", str(info_path)], child_env(args.threads))
        if code != 0:
            return {"error": f"export failed (exit {code})"}
        info = json.loads(info_path.read_text())
        info["peak_rss_mb"] = rss
        info_path.write_text(json.dumps(info, indent=2, sort_keys=True))
    return json.loads(info_path.read_text())


def fmt(x, spec):
    return format(x, spec) if isinstance(x, (int, float)) else str(x if x is not None else "-")


def print_table(report):
    cols = ["workload", "thr", "R", "tokens", "mbert tok/s", "torch tok/s", "ort tok/s",
            "mbert/torch", "mbert/ort", "max|mb-torch|", "max|ort-torch|", "RSS MB m/t/o"]
    rows = [cols]
    for name, w in report["workloads"].items():
        m, t, o = (w.get(p) or {} for p in ("mbert", "torch", "ort"))
        rss = "/".join(fmt(x.get("peak_rss_mb"), ".0f") for x in (m, t, o))
        rows.append([name, fmt(w.get("threads"), "d"), fmt(w.get("repeats"), "d"),
                     fmt(w.get("tokens"), "d"), fmt(m.get("tokens_per_s"), ".1f"),
                     fmt(t.get("tokens_per_s", "failed" if "error" in t else None), ".1f"),
                     fmt(o.get("tokens_per_s", "failed" if "error" in o else None), ".1f"),
                     fmt(w.get("mbert_over_torch"), ".2f"), fmt(w.get("mbert_over_ort"), ".2f"),
                     fmt(w.get("max_abs_err_mbert_vs_torch"), ".2e"),
                     fmt(w.get("max_abs_err_ort_vs_torch"), ".2e"), rss])
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    for r in rows:
        print("  ".join(c.ljust(wd) if i == 0 else c.rjust(wd)
                        for i, (c, wd) in enumerate(zip(r, widths))))
    for name, w in report["workloads"].items():
        for peer in PEERS:
            if "error" in (w.get(peer) or {}):
                print(f"{name} {peer}: {w[peer]['error']}")


def orchestrate(args):
    mbert_path = args.dir / "mbert.json"
    mbert = json.loads(mbert_path.read_text()) if mbert_path.exists() else None
    if mbert and int(mbert.get("threads", args.threads)) != args.threads:
        print(f"warning: mbert.json was measured with {mbert['threads']} threads, peers run "
              f"with --threads {args.threads}; ratios compare unequal thread counts",
              file=sys.stderr)
    names = [n for n in args.workloads if (args.dir / f"inputs-{n}.safetensors").exists()]
    if not names:
        raise SystemExit(f"{args.dir}: no inputs-<workload>.safetensors for {args.workloads}; "
                         "run `mbert bench --out DIR` or bench/peers/make_inputs.py first")
    import onnxruntime
    import torch
    import transformers

    report = {"machine": machine_name(), "threads": args.threads,
              "python": platform.python_version(),
              "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                           "onnxruntime": onnxruntime.__version__},
              "mbert_commit": (mbert or {}).get("commit"), "workloads": {}}
    # Workloads measured by an earlier invocation on the same directory, thread count and mbert
    # run are kept (e.g. short workloads with more repeats than the long ones), the rest redone.
    old_path = args.dir / "peers.json"
    if old_path.exists():
        old = json.loads(old_path.read_text())
        same = all(old.get(k) == report[k] for k in ("threads", "mbert_commit", "versions"))
        if same:
            report["workloads"] = {k: v for k, v in old.get("workloads", {}).items()
                                   if k not in names}
    if "ort" in args.peers:
        report["onnx_export"] = ensure_onnx(args)
    for name in names:
        seqs = load_inputs(args.dir / f"inputs-{name}.safetensors")
        threads = workload_threads(name, args.threads, mbert)
        w = {"sequences": len(seqs), "tokens": int(sum(len(s) for s in seqs)), "threads": threads,
             "repeats": args.repeats}
        mw = (mbert or {}).get("workloads", {}).get(name)
        if mw:
            w["mbert"] = mw
            if int(mw.get("tokens", w["tokens"])) != w["tokens"]:
                print(f"warning: {name}: mbert.json counts {mw['tokens']} tokens, the inputs "
                      f"file {w['tokens']}; was the directory rewritten?", file=sys.stderr)
        for peer in args.peers:
            if peer == "ort" and "error" in report.get("onnx_export", {}):
                w[peer] = {"error": "no ONNX model"}
                continue
            print(f"[{name}] {peer}: {len(seqs)} sequences, {w['tokens']} tokens, "
                  f"{threads} threads", file=sys.stderr, flush=True)
            result = args.dir / f"peer-{peer}-{name}.json"
            result.unlink(missing_ok=True)
            # ONNX Runtime materialises the (b, H, S, S) attention scores of every head (and
            # several temporaries of that size); torch's sdpa CPU kernel works in blocks. Only
            # ORT is capped, as torch reserves large address ranges it never touches.
            # Measured when each worker starts: other jobs on a shared machine come and go.
            limit = None
            if peer == "ort":
                limit = int(0.5 * (mem_available_bytes() or 32 * 2**30))
                if args.mem_limit_gb:
                    limit = min(limit, int(args.mem_limit_gb * 2**30))
            code, rss = run_child(["--worker", peer, "--workload", name, "--dir", str(args.dir),
                                   "--threads", str(threads), "--repeats", str(args.repeats),
                                   "--result", str(result)], child_env(threads), limit)
            if code != 0 or not result.exists():
                why = f"killed by signal {-code}" if code < 0 else f"exit {code}"
                if result.exists():
                    why = json.loads(result.read_text()).get("error", why)
                w[peer] = {"error": why, "peak_rss_mb": rss}
                if limit:
                    w[peer]["address_space_limit_gb"] = round(limit / 2**30, 1)
                print(f"[{name}] {peer}: {why}", file=sys.stderr)
                continue
            w[peer] = json.loads(result.read_text())
            w[peer]["peak_rss_mb"] = rss
        torch_rows = load_rows(args.dir / f"peer-outputs-torch-{name}.safetensors")
        if "tokens_per_s" not in w.get("torch", {}):
            torch_rows = None
        w["max_abs_err_mbert_vs_torch"] = max_err(
            load_rows(args.dir / f"outputs-{name}.safetensors") if mw else None, torch_rows)
        if "tokens_per_s" in w.get("ort", {}):
            w["max_abs_err_ort_vs_torch"] = max_err(
                load_rows(args.dir / f"peer-outputs-ort-{name}.safetensors"), torch_rows)
        for peer in PEERS:
            if mw and "tokens_per_s" in w.get(peer, {}):
                w[f"mbert_over_{peer}"] = mw["tokens_per_s"] / w[peer]["tokens_per_s"]
        report["workloads"][name] = w
        (args.dir / "peers.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    print(f"\n{report['machine']}; peers: torch {report['versions']['torch']} + transformers "
          f"{report['versions']['transformers']} (sdpa), onnxruntime "
          f"{report['versions']['onnxruntime']}; mbert commit {report['mbert_commit'] or '-'}; "
          f"R = timed repeats of each peer (median)")
    print_table(report)
    print(f"wrote {args.dir / 'peers.json'}")


def machine_name():
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, type=Path)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--workloads", nargs="+", default=list(wl.WORKLOADS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peers", nargs="+", default=list(PEERS), choices=PEERS)
    ap.add_argument("--mem-limit-gb", type=float, default=None,
                    help="address-space cap of each ONNX Runtime worker (default and upper "
                         "bound: half of MemAvailable when the worker starts)")
    ap.add_argument("--report-only", action="store_true",
                    help="print the table of an existing DIR/peers.json and exit")
    # internal: one measurement or the export, in a subprocess of its own
    ap.add_argument("--worker", choices=PEERS, help=argparse.SUPPRESS)
    ap.add_argument("--workload", help=argparse.SUPPRESS)
    ap.add_argument("--export", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.threads < 1 or args.repeats < 1:
        ap.error("--threads and --repeats must be at least 1")
    if args.report_only:
        print_table(json.loads((args.dir / "peers.json").read_text()))
    elif args.worker:
        worker(args)
    elif args.export:
        export_onnx(args)
    else:
        if not (args.dir / "model" / "config.json").exists():
            ap.error(f"{args.dir}/model/config.json is missing: run `mbert bench --out "
                     f"{args.dir}` (or bench/peers/make_inputs.py --out {args.dir}) first")
        orchestrate(args)


if __name__ == "__main__":
    main()
