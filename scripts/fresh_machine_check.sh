#!/usr/bin/env bash
# Runs the README's two code blocks on a bare Debian 12, as a new user would: a minimal bookworm
# root made by Debian's own mmdebstrap (or debootstrap), a clean clone of this checkout and a copy
# of ../shared inside it, then each block in a chroot as root. Exits non-zero at the first failing
# block and prints where it failed. Needs root and network access to the Debian mirror. Too slow for
# every CI run (~15 min on 2 cores): run it by hand before resolving an issue.
#
#   bash scripts/fresh_machine_check.sh            # clean clone of HEAD
#   bash scripts/fresh_machine_check.sh --worktree # the working tree as it is (tracked + untracked,
#                                                  # not ignored), to try a change before committing
#
# The bare root is cached as a tarball (MBERT_FRESH_CACHE, default ~/.cache/mbert-fresh) and
# unpacked anew for every run, so nothing installed by a previous run is there. Keep the unpacked
# root for inspection with MBERT_FRESH_KEEP=1.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
shared="$(cd "$repo/.." && pwd)/shared"
mode=clone
for arg in "$@"; do
  case "$arg" in
    --worktree) mode=worktree ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "fresh_machine_check: unknown argument '$arg' (expected --worktree)" >&2; exit 2 ;;
  esac
done

die() { echo "fresh_machine_check: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (it builds a chroot)"
[ -d "$shared" ] || die "no shared/ directory beside the checkout at $shared"

cache="${MBERT_FRESH_CACHE:-$HOME/.cache/mbert-fresh}"
base="$cache/bookworm-minbase.tar"
mirror="http://deb.debian.org/debian"
mkdir -p "$cache"
if [ ! -s "$base" ]; then
  echo "== building a minimal Debian 12 root (cached in $base)"
  if ! command -v mmdebstrap >/dev/null && ! command -v debootstrap >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap
  fi
  if command -v mmdebstrap >/dev/null; then
    # The same sources a Debian 12 install has: the release, its updates and security.
    mmdebstrap --variant=minbase --format=tar bookworm "$base.part" \
      "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
      "deb http://deb.debian.org/debian-security bookworm-security main"
  else
    tmp_root="$(mktemp -d)"
    debootstrap --variant=minbase bookworm "$tmp_root" "$mirror"
    tar -C "$tmp_root" -cf "$base.part" .
    rm -rf "$tmp_root"
  fi
  mv "$base.part" "$base"
fi

root="$(mktemp -d /tmp/mbert-fresh.XXXXXX)"
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
  if [ "${MBERT_FRESH_KEEP:-0}" = 1 ]; then echo "root kept at $root"; else rm -rf "$root"; fi
}
trap cleanup EXIT
tar -C "$root" -xf "$base"

echo "== copying the checkout ($mode) and shared/"
mkdir -p "$root/work"
if [ "$mode" = clone ]; then
  if [ -n "$(git -C "$repo" status --porcelain)" ]; then
    echo "note: the working tree has uncommitted changes; checking HEAD $(git -C "$repo" rev-parse --short HEAD) only"
  fi
  git clone -q --no-local "$repo" "$root/work/main"
else
  mkdir -p "$root/work/main"
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -C "$root/work/main" -xf -
fi
cp -a "$shared" "$root/work/shared"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# What every installed or booted Debian has and a bare bootstrap lacks: /etc/hosts naming
# localhost (chromedriver reaches Chromium's DevTools at "localhost"; without this file glibc
# cannot resolve it). Written fresh, not copied, so no host-specific names leak in.
[ -e "$root/etc/hosts" ] ||
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
for m in proc sys dev dev/pts; do
  mount --bind "/$m" "$root/$m"
  mounted+=("$root/$m")
done

# The README's code blocks, in order: block 1 installs, builds and runs; block 2 tests.
blocks="$root/work/readme_blocks"
mkdir -p "$blocks"
awk -v dir="$blocks" '/^```/ { if (inb) { inb = 0 } else { inb = 1; n++ } ; next }
  inb { print > (dir "/" n ".sh") }' "$root/work/main/README.md"
[ -s "$blocks/1.sh" ] && [ -s "$blocks/2.sh" ] || die "README.md has fewer than two code blocks"

start=$SECONDS
for n in 1 2; do
  echo "== README block $n:"
  sed 's/^/   /' "$blocks/$n.sh"
  log="$root/work/block$n.log"
  t0=$SECONDS
  if ! chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      TERM=dumb LANG=C.UTF-8 /bin/bash -c "cd /work/main && set -eo pipefail && source /work/readme_blocks/$n.sh" \
      >"$log" 2>&1; then
    echo "--- last 40 lines of block $n's output:" >&2
    tail -n 40 "$log" >&2
    first="$(grep -n -m1 -E '(^|[^a-z_])(error|Error|ERROR|FAILED|Could NOT)' "$log" || true)"
    [ -n "$first" ] && echo "--- first error line: $first" >&2
    cp "$log" "/tmp/mbert-fresh-block$n.log"
    die "README block $n failed after $((SECONDS - t0)) s (full log: /tmp/mbert-fresh-block$n.log)"
  fi
  echo "   ok in $((SECONDS - t0)) s; last lines:"
  tail -n 4 "$log" | sed 's/^/   | /'
done
echo "fresh_machine_check: PASS ($((SECONDS - start)) s for both blocks, commit $(git -C "$root/work/main" rev-parse --short HEAD 2>/dev/null || echo worktree))"
