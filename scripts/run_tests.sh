#!/usr/bin/env bash
# The README's test command: install deps, build Release with warnings fatal, run every test
# except the opt-in `slow` label. Extra arguments go to ctest (e.g. -L parity).
set -euo pipefail
cd "$(dirname "$0")/.."
# Build dependencies plus the test-only ones: the browser test (tests/serve/browser_test.sh)
# drives Debian's Chromium through chromedriver's WebDriver API with curl.
bash scripts/install_deps.sh chromium chromium-driver curl
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMBERT_WERROR=ON
cmake --build build -j2
ctest --test-dir build --output-on-failure -LE slow -j2 "$@"
