#!/usr/bin/env bash
# Soak test of `mbert serve`: a steady open-loop rate for SECONDS (default 600) from 8 clients,
# texts mixed (one ~512-token text in ten, the rest 8-64 tokens), the server's RSS sampled every
# 30 s. Passes when no request failed and RSS grew at most 5% after the first minute (warm-up:
# the first batches size the scratch buffers and oneDNN's primitive cache).
#   bench/run_serve_soak.sh [--rate R] [--seconds S] [--threads T] [--model DIR] [--build DIR]
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
build="$src/build" rate=8 seconds=600 threads=2 model="$src/build-bench/base/model-with-tokenizer"
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --build) build="$(cd "$2" && pwd)"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$model/config.json" ] || { echo "no model at $model (run bench/run_serve_bench.sh once)" >&2; exit 2; }
port=$((20000 + RANDOM % 20000))
log="$(mktemp)"
"$build/tools/mbert/mbert" --threads "$threads" serve --model "$model" --port "$port" 2>"$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 600); do curl -sf "127.0.0.1:$port/health" >/dev/null && break; sleep 0.25; done
echo "soak: $rate requests/s for $seconds s, model $model, $threads threads;$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
out="$(mktemp)"
"$build/bench/serve_load" --port "$port" --texts mixed --concurrency 8 --rate "$rate" \
  --seconds "$seconds" --requests 100000000 --rss-pid "$pid" --rss-every 30 --rss-warmup 60 |
  tee "$out"
curl -s "127.0.0.1:$port/metrics" | grep -E '^mbert_requests_total' || true
kill -TERM "$pid"
wait "$pid" && echo "server exited 0 after SIGTERM"
growth=$(sed -n 's/.*MB (\([-+0-9.]*\)%).*/\1/p' "$out")
errors=$(awk '$1 == 8 {print $3}' "$out")
echo "errors: $errors; RSS growth after warm-up: $growth%"
awk -v g="$growth" -v e="$errors" 'BEGIN { exit !(e == 0 && g <= 5) }' && echo "soak PASSED" ||
  { echo "soak FAILED"; exit 1; }
