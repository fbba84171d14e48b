#!/usr/bin/env bash
# The whole measurement behind docs/performance.md and the training table of bench/README.md, in
# one sequential run (nothing else should run on the machine meanwhile; ~75 minutes on 2 cores):
# training beside PyTorch, then inference on the base shape (all workloads, per-op profile) beside
# transformers and ONNX Runtime, bf16 weights, RSS at one 8192-token sequence, and the large shape
# at a quarter of the sequence counts. Logs go to OUT/logs, results to OUT/<run>/ (JSON).
#
#   bench/run_all.sh [OUT]        OUT defaults to build-bench/ (ignored by git)
#
# Needs build/ with the mbert and bench_train targets and the peers' venv (bench/README.md).
set -x
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${1:-build-bench}"
B="${MBERT_BIN:-build/tools/mbert/mbert}"
P="${PYTHON:-/work/venv/bin/python}"
L="$out/logs"
mkdir -p "$L"
date; uptime
BENCH_TRAIN=build/bench/bench_train bash bench/run_train_bench.sh --out "$out/train" > "$L/train.txt" 2>&1
date; uptime
OMP_NUM_THREADS=2 "$B" --threads 2 bench --shape base --out "$out/base" --repeats 3 --profile > "$L/base-mbert.txt" 2>&1
"$P" bench/peers/peers.py --dir "$out/base" --threads 2 --repeats 2 --workloads latency128 fixed512 varshort > "$L/base-peers-short.txt" 2>&1
"$P" bench/peers/peers.py --dir "$out/base" --threads 2 --repeats 1 --workloads fixed8192 varlong > "$L/base-peers-long.txt" 2>&1
date; uptime
# Same model for the bf16 and RSS runs (copied, so no run pays for creating it).
for d in base-bf16 base-rss base-rss-bf16; do
  mkdir -p "$out/$d"
  [ -d "$out/$d/model" ] || cp -r "$out/base/model" "$out/$d/"
done
OMP_NUM_THREADS=2 "$B" --threads 2 bench --shape base --dtype bf16 --out "$out/base-bf16" --repeats 2 > "$L/base-bf16.txt" 2>&1
OMP_NUM_THREADS=2 "$B" --threads 2 bench --shape base --out "$out/base-rss" --workloads fixed8192 --scale 0.5 --batch-tokens 8192 --repeats 1 > "$L/base-rss.txt" 2>&1
OMP_NUM_THREADS=2 "$B" --threads 2 bench --shape base --dtype bf16 --out "$out/base-rss-bf16" --workloads fixed8192 --scale 0.5 --batch-tokens 8192 --repeats 1 > "$L/base-rss-bf16.txt" 2>&1
date; uptime
OMP_NUM_THREADS=2 "$B" --threads 2 bench --shape large --out "$out/large" --repeats 2 --scale 0.25 --profile > "$L/large-mbert.txt" 2>&1
"$P" bench/peers/peers.py --dir "$out/large" --threads 2 --repeats 2 --workloads latency128 fixed512 varshort > "$L/large-peers-short.txt" 2>&1
"$P" bench/peers/peers.py --dir "$out/large" --threads 2 --repeats 1 --workloads fixed8192 varlong > "$L/large-peers-long.txt" 2>&1
date; uptime
