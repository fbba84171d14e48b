#!/usr/bin/env bash
# Installs the built tree into a scratch prefix, then builds programs outside the tree against
# it three ways — find_package(mbert) with the C++ API on libmbert.so, the C API on libmbert.a,
# and pkg-config with the C API on libmbert.so — runs each on the tiny test model, and checks
# that they print the same embedding. Also checks the installed layout and that libmbert.so
# exports the API and hides the internals. Usage: consumer_test.sh BUILD_DIR SOURCE_DIR.
set -euo pipefail
build="$(cd "$1" && pwd)"
src="$(cd "$2" && pwd)"
work="$build/tests/install/work"
model="$src/tests/data/tiny-mlm"
text="A sentence to embed."
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
prefix="$work/prefix"
libdir="$(dirname "$(find "$prefix" -name 'libmbert.so' | head -n1)")"
[ -n "$libdir" ] && [ -f "$libdir/libmbert.so" ] || fail "libmbert.so not installed"
for f in "$libdir/libmbert.a" "$libdir/cmake/mbert/mbertConfig.cmake" \
         "$libdir/cmake/mbert/mbertConfigVersion.cmake" "$libdir/pkgconfig/mbert.pc" \
         "$prefix/include/mbert/mbert.h" "$prefix/include/mbert/model.h" \
         "$prefix/include/mbert/context.h" "$prefix/include/mbert/tasks.h" \
         "$prefix/include/mbert/tokenizer.h" "$prefix/include/mbert/status.h" \
         "$prefix/include/mbert/types.h" "$prefix/bin/mbert"; do
  [ -e "$f" ] || fail "not installed: ${f#$prefix/}"
done
echo "installed: $(cd "$prefix" && find . -type f | sort | tr '\n' ' ')"

# Exported symbols: the API, none of the internals.
exported="$(nm -DC --defined-only "$libdir/libmbert.so")"
for sym in "mbert_model_load" "mbert_embed" "mbert::Model::Load" "mbert::Embed(" \
           "mbert::Tokenizer::Encode("; do
  grep -qF "$sym" <<<"$exported" || fail "libmbert.so does not export $sym"
done
for sym in "mbert::Encoder::" "mbert::ops::" "mbert::tasks::" "mbert::SentenceEmbedder::"; do
  if grep -qF "$sym" <<<"$exported"; then fail "libmbert.so exports internal $sym"; fi
done
echo "exports: $(grep -c ' T ' <<<"$exported") functions, no internals"

# A sanitized build's libraries (-DMBERT_SANITIZE) call into the sanitizer runtime, which every
# program linking them must then load: the consumers get the same -fsanitize flags.
san="$(sed -n 's/^MBERT_SANITIZE:STRING=//p' "$build/CMakeCache.txt")"
sanflags="${san:+-fsanitize=$san}"
cmake -S "$src/tests/install/consumer" -B "$work/consumer" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$sanflags" -DCMAKE_CXX_FLAGS="$sanflags" \
  -DCMAKE_EXE_LINKER_FLAGS="$sanflags" >"$work/consumer-configure.log"
cmake --build "$work/consumer" -j2 >"$work/consumer-build.log" 2>&1 ||
  { cat "$work/consumer-build.log"; fail "consumer project did not build"; }
PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --exists mbert || fail "pkg-config cannot find mbert"
# shellcheck disable=SC2046,SC2086
cc $sanflags -o "$work/consumer_pc" "$src/tests/install/consumer/consumer.c" \
  $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs mbert) -Wl,-rpath,"$libdir" ||
  fail "pkg-config build failed"

"$work/consumer/consumer_cpp" "$model" "$text" >"$work/cpp.txt"
"$work/consumer/consumer_c_static" "$model" "$text" >"$work/c_static.txt"
"$work/consumer_pc" "$model" "$text" >"$work/pc.txt"
dim="$(cut -d' ' -f1 "$work/cpp.txt")"
[ "$dim" = 64 ] || fail "embedding width $dim, expected 64"
[ "$(wc -w <"$work/cpp.txt")" = 65 ] || fail "expected 64 values"
cmp -s "$work/cpp.txt" "$work/c_static.txt" || fail "C (static) and C++ (shared) embeddings differ"
cmp -s "$work/cpp.txt" "$work/pc.txt" || fail "pkg-config build's embedding differs"
# ldd's output is captured first: `ldd | grep -q` under pipefail fails when grep exits early.
deps_cpp="$(ldd "$work/consumer/consumer_cpp")"
deps_static="$(ldd "$work/consumer/consumer_c_static")"
grep -q "libmbert.so" <<<"$deps_cpp" || fail "consumer_cpp is not linked against libmbert.so"
if grep -q "libmbert.so" <<<"$deps_static"; then
  fail "consumer_c_static should not need libmbert.so"
fi
echo "consumers (C++ shared, C static, C pkg-config) agree: $(cut -c1-60 "$work/cpp.txt")..."
echo "1 passed, 0 failed"
