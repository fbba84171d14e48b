#!/usr/bin/env bash
# Inference benchmark, mbert beside its peers in one run (issue 5): `mbert bench` times the
# workloads and writes the model, the exact inputs, a sample of its outputs and mbert.json into
# DIR; bench/peers/peers.py then times transformers (PyTorch, sdpa) and ONNX Runtime on the same
# model, inputs and thread count, checks max |mbert - transformers| and prints the combined table
# (also written to DIR/peers.json). See bench/README.md.
#
# Usage: bench/run_bench.sh [--shape base|large] [--threads T] [--out DIR] [--repeats R]
#                           [--workloads "fixed512 varshort fixed8192 varlong latency128"]
#                           [--scale F] [--peers "torch ort"]
# DIR defaults to build-bench/<shape>. A later run on the same DIR reuses its model and ONNX export.
# Environment: MBERT_BIN (default build/tools/mbert/mbert), PYTHON (default /work/venv/bin/python).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shape=base
threads="$(nproc)"
out=""
repeats=3
workloads="fixed512 varshort fixed8192 varlong latency128"
scale=1
peers="torch ort"

usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --shape) shape="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --workloads) workloads="$2"; shift 2 ;;
    --scale) scale="$2"; shift 2 ;;
    --peers) peers="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "run_bench.sh: unknown argument '$1'" >&2; usage 2 ;;
  esac
done
case "$shape" in
  base|large|tiny) ;;
  *) echo "run_bench.sh: --shape must be base, large or tiny" >&2; exit 2 ;;
esac
# default under build-bench/ (ignored by git: /build*/)
out="${out:-$root/build-bench/$shape}"
mbert="${MBERT_BIN:-$root/build/tools/mbert/mbert}"
python="${PYTHON:-/work/venv/bin/python}"

if [[ ! -x "$mbert" ]]; then
  echo "run_bench.sh: $mbert not found: build it (cmake --build build --target mbert)" \
       "or set MBERT_BIN" >&2
  exit 2
fi
if ! "$python" -c 'import torch, transformers, onnxruntime, onnxscript' 2>/dev/null; then
  echo "run_bench.sh: $python lacks the peers' packages:" \
       "$python -m pip install -r tools/golden/requirements.txt (see bench/README.md)" >&2
  exit 2
fi

# A model left in DIR by an earlier run is reused by both sides; refuse one of another shape.
declare -A hidden=([tiny]=64 [base]=768 [large]=1024)
if [[ -f "$out/model/config.json" ]] &&
   ! grep -Eq "\"hidden_size\": *${hidden[$shape]}[,}]" "$out/model/config.json"; then
  echo "run_bench.sh: $out/model is not a $shape-shaped model; use another --out" >&2
  exit 2
fi

mkdir -p "$out"
# The thread count reaches mbert through OpenMP (and --threads where the binary has it).
thread_flag=()
if "$mbert" bench --help 2>&1 | grep -q -- '--threads'; then thread_flag=(--threads "$threads"); fi
echo "== mbert bench ($shape, $threads threads) -> $out"
# shellcheck disable=SC2086  # word splitting of the workload list is intended
OMP_NUM_THREADS="$threads" "$mbert" bench --shape "$shape" --out "$out" --repeats "$repeats" \
  --scale "$scale" --workloads $workloads "${thread_flag[@]}"

echo "== peers: $peers"
# shellcheck disable=SC2086
"$python" "$root/bench/peers/peers.py" --dir "$out" --threads "$threads" --repeats "$repeats" \
  --workloads $workloads --peers $peers
