#!/usr/bin/env bash
# Fetches the Debian packages that make up mbert's real pre-training corpus and unpacks them
# (dpkg-deb -x: nothing is installed) into a directory outside the repository. Run by hand,
# never by CI; needs network access to a Debian 12 (bookworm) mirror via apt.
#
#   scripts/data/fetch_debian_corpus.sh [OUT_DIR]      (default /work/corpus-raw)
#
# Layout written (see docs/data.md for what each source is and its licence):
#   OUT/debs/*.deb                 the downloaded packages, kept for provenance
#   OUT/pkg/<package>/...          each package unpacked as dpkg-deb -x lays it out
#   OUT/text/linux-Documentation/  Documentation/ from the kernel source tarball
#   OUT/text/openjdk-17-src/       java.base sources from openjdk-17-source's src.zip
#   OUT/text/gcide/gcide.txt       the dictd database of dict-gcide, decompressed
#   OUT/text/licences/<package>    each package's /usr/share/doc/<package>/copyright
# Re-running skips packages already downloaded and unpacked.
set -euo pipefail

OUT="${1:-/work/corpus-raw}"
case "$(realpath -m "$OUT")" in
  "$(realpath "$(dirname "$0")/../..")"*)
    echo "error: OUT_DIR $OUT is inside the repository; choose a directory outside it" >&2
    exit 2 ;;
esac

# Prose: documentation and public-domain reference text. Code: standard libraries.
PACKAGES=(
  rust-doc openjdk-17-doc python3.11-doc perl-doc linux-source-6.1
  dict-gcide wordnet-base
  sword-text-kjv sword-text-web sword-comm-mhcc sword-comm-tdavid sword-comm-scofield
  golang-1.19-src openjdk-17-source libpython3.11-stdlib
)

mkdir -p "$OUT/debs" "$OUT/pkg" "$OUT/text/licences"
cd "$OUT/debs"
for p in "${PACKAGES[@]}"; do
  if ! ls "${p}"_*.deb >/dev/null 2>&1; then
    echo "downloading $p" >&2
    apt-get download "$p" || { echo "error: apt-get download $p failed (run apt-get update?)" >&2; exit 1; }
  fi
  if [ ! -d "$OUT/pkg/$p" ]; then
    echo "unpacking $p" >&2
    dpkg-deb -x "$(ls "${p}"_*.deb | head -1)" "$OUT/pkg/$p.tmp"
    mv "$OUT/pkg/$p.tmp" "$OUT/pkg/$p"
  fi
  # The licence: the package's own copyright file (some packages point at another's doc dir).
  c="$(find "$OUT/pkg/$p/usr/share/doc" -maxdepth 2 -name copyright 2>/dev/null | head -1)"
  if [ -n "$c" ]; then cp "$c" "$OUT/text/licences/$p"; fi
done

# Kernel Documentation/ lives in a tarball inside linux-source-6.1.
if [ ! -d "$OUT/text/linux-Documentation" ]; then
  tarball="$(ls "$OUT"/pkg/linux-source-6.1/usr/src/linux-source-6.1.tar.* | head -1)"
  mkdir -p "$OUT/text/linux-Documentation.tmp"
  tar -xf "$tarball" -C "$OUT/text/linux-Documentation.tmp" --wildcards '*/Documentation/*'
  mv "$OUT"/text/linux-Documentation.tmp/*/Documentation "$OUT/text/linux-Documentation"
  rm -rf "$OUT/text/linux-Documentation.tmp"
fi

# OpenJDK sources ship as a zip (lib/src.zip); keep the java.base module (the core library).
if [ ! -d "$OUT/text/openjdk-17-src" ]; then
  z="$(find "$OUT/pkg/openjdk-17-source" -name src.zip | head -1)"
  mkdir -p "$OUT/text/openjdk-17-src.tmp"
  python3 - "$z" "$OUT/text/openjdk-17-src.tmp" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = [n for n in z.namelist() if n.startswith("java.base/") and n.endswith(".java")]
z.extractall(sys.argv[2], names)
PY
  mv "$OUT/text/openjdk-17-src.tmp" "$OUT/text/openjdk-17-src"
fi

# GCIDE: the dictd database is gzip-compatible (dictzip).
if [ ! -f "$OUT/text/gcide/gcide.txt" ]; then
  mkdir -p "$OUT/text/gcide"
  gzip -dc "$OUT/pkg/dict-gcide/usr/share/dictd/gcide.dict.dz" > "$OUT/text/gcide/gcide.txt.tmp"
  mv "$OUT/text/gcide/gcide.txt.tmp" "$OUT/text/gcide/gcide.txt"
fi

du -sh "$OUT"/pkg/* "$OUT"/text/* >&2
echo "done: $OUT" >&2
