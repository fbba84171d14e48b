#!/usr/bin/env bash
# Fine-tuning throughput: `mbert finetune` beside transformers' Trainer (default random order and
# group_by_length) on GLUE SST-2, same weights, data, batch, max length, schedule and threads;
# one table at the end, DIR/<shape>/results.json per shape. Builds nothing.
#
#   bench/finetune/run.sh [--shapes "small"] [--steps 40] [--threads 2] [--batch-size 32]
#       [--max-length 128] [--out build-bench/finetune] [--peers "trainer trainer-glen"]
#
# Binary: $MBERT_BIN, else build/tools/mbert/mbert. Python: $MBERT_PYTHON, else
# /work/venv/bin/python (bench/finetune/requirements.txt). Data: ../shared/data (glue/SST-2 and
# the modernbert-base tokenizer). Method: bench/finetune/ft_bench.py's docstring and
# docs/finetuning.md "Fine-tuning speed".
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
shapes="small"
steps=40
threads=2
batch=32
maxlen=128
out="$root/build-bench/finetune"
peers="trainer trainer-glen"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --shapes) shapes="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --batch-size) batch="$2"; shift 2 ;;
    --max-length) maxlen="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --peers) peers="$2"; shift 2 ;;
    *) echo "run.sh: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
bin="${MBERT_BIN:-$root/build/tools/mbert/mbert}"
if [[ ! -x "$bin" ]]; then
  echo "run.sh: no mbert binary at $bin; build it (cmake --build build --target mbert) or set MBERT_BIN" >&2
  exit 1
fi
py="${MBERT_PYTHON:-/work/venv/bin/python}"

dirs=()
for shape in $shapes; do
  "$py" "$here/ft_bench.py" --shape "$shape" --out "$out/$shape" --steps "$steps" \
    --threads "$threads" --batch-size "$batch" --max-length "$maxlen" --peers "$peers" \
    --mbert "$bin"
  dirs+=("$out/$shape")
done
echo
echo "== all shapes"
"$py" "$here/ft_bench.py" --table "${dirs[@]}"
