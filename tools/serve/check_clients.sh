#!/usr/bin/env bash
# Real clients against `mbert serve` (development only, never CI): starts the server on loopback
# with MODEL (default tests/data/tiny-mlm) and an API key, drives it with curl and with the
# OpenAI Python client (tools/serve/openai_client_check.py, from $VENV, default /work/venv; pip
# install -r tools/serve/requirements.txt). Prints what each client got.
#   tools/serve/check_clients.sh [MODEL] [BUILD_DIR]
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
model="${1:-$src/tests/data/tiny-mlm}" build="${2:-$src/build}" venv="${VENV:-/work/venv}"
port=$((20000 + RANDOM % 20000)) key="check-$RANDOM"
"$build/tools/mbert/mbert" serve --model "mini=$model" --port "$port" --api-key "$key" \
  2>/tmp/check_clients.log &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 200); do curl -sf "127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port"
show() { echo "\$ $*" | sed "s/$key/\$KEY/g"; "$@"; echo; }
show curl -s "$url/v1/embeddings" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"input": "A sentence to embed.", "model": "mini", "dimensions": 4}'
show curl -s "$url/embed" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"inputs": ["A sentence to embed."], "normalize": true, "dimensions": 4}'
show curl -s "$url/fill-mask" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"inputs": "The capital of France is [MASK].", "top_k": 2}'
show curl -s -o /dev/null -w '%{http_code}\n' "$url/v1/embeddings" -d '{"input": "no key"}'
"$venv/bin/python" "$src/tools/serve/openai_client_check.py" --base-url "$url" --api-key "$key"
kill -TERM "$pid"
wait "$pid" && echo "server exited 0 after SIGTERM"
