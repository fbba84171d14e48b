#!/usr/bin/env bash
# Load test of `mbert serve` on loopback beside the engine's own rate on the same texts and,
# optionally, Python peers serving the same model in the same run (bounded: at most REQUESTS
# requests or SECONDS seconds per concurrency level). The model: DIR (default: a random
# ModernBERT-base made by `mbert bench --shape base` in build-bench/base, with the real
# tokenizer files added). Prints bench/serve_load's table for each server and its peak RSS.
#   bench/run_serve_bench.sh [--texts short|long] [--concurrency 1,8,64] [--requests N]
#                            [--seconds S] [--threads T] [--model DIR] [--build BUILD_DIR]
#                            [--servers mbert,infinity,transformers] [--n-texts N]
#                            [--json-dir DIR]
# Peers (development only; never CI): `infinity` is Infinity (infinity-emb 0.0.78, torch engine,
# fp32, mean pooling, OpenAI route /embeddings) from the virtual environment $INFINITY_VENV
# (default /work/venv-infinity); `transformers` is bench/peers/serve_peer.py (transformers + a
# dynamic-batching stdlib HTTP server, TEI route /embed) from $PEER_VENV (default /work/venv).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
build="$src/build" texts=short conc=1,8,64 requests=2000 seconds=60 threads=2 model=""
servers=mbert n_texts=""
json_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --texts) texts="$2"; shift 2 ;;
    --concurrency) conc="$2"; shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --build) build="$(cd "$2" && pwd)"; shift 2 ;;
    --servers) servers="$2"; shift 2 ;;
    --n-texts) n_texts="$2"; shift 2 ;;
    --json-dir) json_dir="$2"; mkdir -p "$json_dir"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
# Distinct texts (the engine times a pass over all of them, 4 times): fewer of the long ones.
[ -n "$n_texts" ] || { [ "$texts" = long ] && n_texts=48 || n_texts=256; }
mbert="$build/tools/mbert/mbert"
if [ -z "$model" ]; then
  base="$src/build-bench/base"
  [ -f "$base/model/config.json" ] ||
    "$mbert" bench --shape base --workloads latency128 --repeats 1 --out "$base" >/dev/null
  model="$base/model-with-tokenizer"
  mkdir -p "$model"
  ln -sf "$base/model/config.json" "$base/model/model.safetensors" "$model/"
  for f in tokenizer.json tokenizer_config.json special_tokens_map.json; do
    cp "$src/../shared/data/modernbert-base/$f" "$model/"
  done
fi
model="$(cd "$model" && pwd)"
echo "model $model; $threads threads;$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2);" \
  "$(date -u +%FT%TZ)"

pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; }
trap cleanup EXIT
wait_health() {
  for _ in $(seq 1200); do
    curl -sf "127.0.0.1:$1/health" >/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "the server exited" >&2; return 1; }
    sleep 0.25
  done
  echo "the server did not become healthy" >&2
  return 1
}
# run_load NAME PORT [serve_load args...]: the levels against one server.
run_load() {
  local name="$1" port="$2"
  shift 2
  local json=()
  [ -n "$json_dir" ] && json=(--json "$json_dir/$name-$texts.json")
  echo
  echo "== $name"
  OMP_NUM_THREADS="$threads" "$build/bench/serve_load" --port "$port" --texts "$texts" \
    --n-texts "$n_texts" --concurrency "$conc" --requests "$requests" --seconds "$seconds" --rss-pid "$pid" \
    --rss-every 1000 "${json[@]}" "$@" || echo "(some requests failed)"
}

log="$(mktemp)"
IFS=',' read -r -a server_list <<<"$servers"
for server in "${server_list[@]}"; do
  port=$((20000 + RANDOM % 20000))
  case "$server" in
    mbert)
      "$mbert" --threads "$threads" serve --model "$model" --port "$port" 2>"$log" &
      pid=$!
      wait_health "$port"
      run_load mbert "$port" --engine-model "$model"
      kill -TERM "$pid"
      wait "$pid" && echo "mbert serve exited 0 after SIGTERM"
      echo "requests logged: $(grep -c '^\[mbert serve\] #' "$log" || true)," \
        "answered 200: $(grep -c '^\[mbert serve\] #.* 200 ' "$log" || true)"
      ;;
    infinity)
      venv="${INFINITY_VENV:-/work/venv-infinity}"
      HF_HUB_OFFLINE=1 INFINITY_ANONYMOUS_USAGE_STATS=0 DO_NOT_TRACK=1 OMP_NUM_THREADS="$threads" \
        "$venv/bin/infinity_emb" v2 --model-id "$model" --served-model-name peer --port "$port" \
        --engine torch --device cpu --dtype float32 --batch-size 64 --no-bettertransformer \
        --pooling-method mean --no-model-warmup >"$log.$server" 2>&1 &
      pid=$!
      wait_health "$port"
      run_load infinity "$port" --route openai --path /embeddings --model-name peer \
        --engine-model "$model" --engine-repeats 0
      ;;
    transformers)
      venv="${PEER_VENV:-/work/venv}"
      OMP_NUM_THREADS="$threads" "$venv/bin/python" "$src/bench/peers/serve_peer.py" \
        --model "$model" --port "$port" --threads "$threads" >"$log.$server" 2>&1 &
      pid=$!
      wait_health "$port"
      run_load transformers "$port" --engine-model "$model" --engine-repeats 0
      ;;
    *) echo "unknown server $server" >&2; exit 2 ;;
  esac
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
done
