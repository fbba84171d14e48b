#!/usr/bin/env bash
# Load test of `mbert serve` on loopback beside the engine's own rate on the same texts (bounded:
# at most REQUESTS requests or SECONDS seconds per concurrency level). The model: DIR (default:
# a random ModernBERT-base made by `mbert bench --shape base` in build-bench/base, with the real
# tokenizer added). Prints the table of bench/serve_load and the server's peak RSS.
#   bench/run_serve_bench.sh [--texts short|long] [--concurrency 1,8,64] [--requests N]
#                            [--seconds S] [--threads T] [--model DIR] [--build BUILD_DIR]
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
build="$src/build" texts=short conc=1,8,64 requests=2000 seconds=60 threads=2 model=""
while [ $# -gt 0 ]; do
  case "$1" in
    --texts) texts="$2"; shift 2 ;;
    --concurrency) conc="$2"; shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --build) build="$(cd "$2" && pwd)"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
mbert="$build/tools/mbert/mbert"
if [ -z "$model" ]; then
  base="$src/build-bench/base"
  [ -f "$base/model/config.json" ] ||
    "$mbert" bench --shape base --workloads latency128 --repeats 1 --out "$base" >/dev/null
  model="$base/model-with-tokenizer"
  mkdir -p "$model"
  ln -sf "$base/model/config.json" "$base/model/model.safetensors" "$model/"
  cp "$src/../shared/data/modernbert-base/tokenizer.json" "$model/"
fi
port=$((20000 + RANDOM % 20000))
log="$(mktemp)"
"$mbert" --threads "$threads" serve --model "$model" --port "$port" 2>"$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 600); do curl -sf "127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
echo "mbert serve on 127.0.0.1:$port, model $model, $threads threads; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
OMP_NUM_THREADS="$threads" "$build/bench/serve_load" --port "$port" --texts "$texts" \
  --concurrency "$conc" --requests "$requests" --seconds "$seconds" --engine-model "$model"
echo "server peak RSS: $(grep VmHWM /proc/$pid/status | awk '{print $2/1024 " MB"}')"
kill -TERM "$pid"
wait "$pid" && echo "server exited 0 after SIGTERM"
grep -c ' 200 ' "$log" | sed 's/^/requests answered 200: /'
