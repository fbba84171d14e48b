#!/usr/bin/env bash
# Training throughput and peak memory: bench_train (mbert) then bench/train_peers.py (transformers +
# torch-optimi) on the same model, masked batch and thread count, for the small and the base
# shape; prints one table at the end. Builds nothing: build the bench_train target first.
#
#   bench/run_train_bench.sh [--threads 2] [--out build-bench/train] [--shapes "small base"]
#       [--small "ROWS TOKENS STEPS"] [--base "ROWS TOKENS STEPS"]
#
# Binary: $BENCH_TRAIN, else the first of build-tb/, build/ that has bench/bench_train.
# Python: $MBERT_PYTHON, else /work/venv/bin/python. Each shape writes OUT/<shape>/.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
threads=2
out="$root/build-bench/train"
shapes="small base"
small="4 1024 5"  # rows, tokens per row, timed steps
base="2 1024 3"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --shapes) shapes="$2"; shift 2 ;;
    --small) small="$2"; shift 2 ;;
    --base) base="$2"; shift 2 ;;
    *) echo "run_train_bench.sh: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done

bin="${BENCH_TRAIN:-}"
if [[ -z "$bin" ]]; then
  for b in "$root/build-tb/bench/bench_train" "$root/build/bench/bench_train"; do
    if [[ -x "$b" ]]; then bin="$b"; break; fi
  done
fi
if [[ -z "$bin" || ! -x "$bin" ]]; then
  echo "run_train_bench.sh: no bench_train binary; build it with" \
       "cmake --build build --target bench_train (or set BENCH_TRAIN)" >&2
  exit 1
fi
py="${MBERT_PYTHON:-/work/venv/bin/python}"

echo "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
     "$threads threads, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
dirs=()
for shape in $shapes; do
  case "$shape" in
    small) read -r rows tokens steps <<< "$small" ;;
    base) read -r rows tokens steps <<< "$base" ;;
    *) echo "run_train_bench.sh: unknown shape $shape (small or base)" >&2; exit 2 ;;
  esac
  dir="$out/$shape"
  echo "== $shape: $rows rows x $tokens tokens, $steps timed steps"
  OMP_NUM_THREADS="$threads" "$bin" --shape "$shape" --rows "$rows" --row-tokens "$tokens" \
    --steps "$steps" --threads "$threads" --out "$dir"
  "$py" "$here/train_peers.py" --dir "$dir" --threads "$threads" --steps "$steps"
  dirs+=("$dir")
done
echo
"$py" "$here/train_peers.py" --table "${dirs[@]}"
