#!/usr/bin/env bash
# The whole test suite (except the opt-in `slow` label) under AddressSanitizer and
# UndefinedBehaviorSanitizer: a Debug build at -O1 in build-asan with -DMBERT_SANITIZE, every
# report fatal (the test fails). CI runs it after scripts/run_tests.sh. Extra arguments go to
# ctest. Suppressions (third-party code only, each with its reason): scripts/sanitizers/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh chromium chromium-driver curl
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" \
  -DCMAKE_C_FLAGS_DEBUG="-g -O1" -DMBERT_WERROR=ON -DMBERT_SANITIZE=address,undefined -DMBERT_BENCH=OFF
cmake --build build-asan -j2
supp="$PWD/scripts/sanitizers"
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
ctest --test-dir build-asan --output-on-failure -LE slow -j2 "$@"
