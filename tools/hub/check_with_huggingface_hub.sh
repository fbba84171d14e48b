#!/usr/bin/env bash
# Development check of `mbert pull` against huggingface_hub (never CI: needs the Python client).
# Starts the test suite's fake Hub on loopback (build/tests/hub/fake_hub), then:
#  1. huggingface_hub.snapshot_download() fetches the test repos into cache A; its tree (paths,
#     symlink targets, file sizes and SHA-256) is the golden tests/data/hub/expected_tree.txt
#     (written with --write, else compared);
#  2. `mbert pull` fetches the same repos into cache B: its tree must equal A's;
#  3. huggingface_hub.scan_cache_dir() reads cache B without errors;
#  4. mbert runs models by name from cache A (offline), as snapshot_download placed them.
# Usage: tools/hub/check_with_huggingface_hub.sh [--write] [BUILD_DIR]
#   PYTHON (default /work/venv-hub/bin/python) has tools/hub/requirements.txt installed.
set -euo pipefail
write=0
build=build
for a in "$@"; do
  case "$a" in
    --write) write=1 ;;
    *) build="$a" ;;
  esac
done
src="$(cd "$(dirname "$0")/../.." && pwd)"
build="$(cd "$build" && pwd)"
py="${PYTHON:-/work/venv-hub/bin/python}"
mbert="$build/tools/mbert/mbert"
work="$(mktemp -d /tmp/mbert-hub-check.XXXXXX)"
trap 'kill "$hub_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

MBERT_TESTDATA_DIR="$src/tests/data" "$build/tests/hub/fake_hub" >"$work/endpoint" &
hub_pid=$!
for _ in $(seq 50); do [ -s "$work/endpoint" ] && break; sleep 0.1; done
endpoint="$(head -n1 "$work/endpoint")"
echo "fake Hub at $endpoint; huggingface_hub $("$py" -c 'import huggingface_hub as h; print(h.__version__)')"
repos=(test-org/tiny-mlm test-org/tiny-st test-org/tiny-sharded)

# The tree format of tests/hub/test_hub.cpp (Tree()): sorted; trees/ (huggingface_hub's own
# file-list cache) left out.
tree() {
  (cd "$1" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort | while IFS= read -r p; do
    case "$p" in */trees|*/trees/*) continue ;; esac
    if [ -L "$p" ]; then echo "l $p -> $(readlink "$p")"
    elif [ -d "$p" ]; then echo "d $p"
    else echo "f $p $(stat -c %s "$p") $(sha256sum "$p" | cut -d' ' -f1)"; fi
  done)
}

HF_ENDPOINT="$endpoint" HF_HUB_CACHE="$work/py" HF_HUB_DISABLE_XET=1 "$py" - "${repos[@]}" <<'PY'
import sys
from huggingface_hub import snapshot_download
for repo in sys.argv[1:]:
    print("huggingface_hub:", repo, "->", snapshot_download(repo))
PY
tree "$work/py" >"$work/py.tree"

for r in "${repos[@]}"; do
  HF_ENDPOINT="$endpoint" HF_HUB_CACHE="$work/mb" "$mbert" pull "$r" 2>/dev/null | sed "s|^|mbert pull: $r -> |"
done
tree "$work/mb" >"$work/mb.tree"

if diff -u "$work/py.tree" "$work/mb.tree"; then
  echo "OK: mbert's cache tree equals huggingface_hub's ($(wc -l <"$work/py.tree") entries)"
else
  echo "FAIL: the trees differ (- huggingface_hub, + mbert)"; exit 1
fi
golden="$src/tests/data/hub/expected_tree.txt"
if [ "$write" = 1 ]; then
  mkdir -p "$(dirname "$golden")"
  cp "$work/py.tree" "$golden"
  echo "wrote $golden"
elif ! diff -q "$work/py.tree" "$golden" >/dev/null; then
  echo "FAIL: huggingface_hub's tree differs from $golden (run with --write to update)"; exit 1
fi

"$py" - "$work/mb" <<'PY'
import sys
from huggingface_hub import scan_cache_dir
info = scan_cache_dir(sys.argv[1])
for repo in sorted(info.repos, key=lambda r: r.repo_id):
    revs = ", ".join(f"{r.commit_hash[:8]} refs={sorted(r.refs)} files={r.nb_files}" for r in repo.revisions)
    print(f"scan_cache_dir: {repo.repo_id} {repo.size_on_disk} bytes, {repo.nb_files} files; {revs}")
print("scan_cache_dir warnings:", info.warnings)
sys.exit(1 if info.warnings else 0)
PY

HF_HUB_CACHE="$work/py" HF_HUB_OFFLINE=1 "$mbert" fill-mask -k 2 --model test-org/tiny-mlm \
  "The capital of France is [MASK]." | cut -c1-160
HF_HUB_CACHE="$work/py" HF_HUB_OFFLINE=1 "$mbert" embed --model test-org/tiny-st --format ids \
  <<<"1 2 3 4" | cut -c1-100
HF_HUB_CACHE="$work/py" HF_HUB_OFFLINE=1 "$mbert" models
echo "check_with_huggingface_hub: PASS"
