#!/usr/bin/env bash
# Installs the Debian 12 packages mbert builds and tests with (run as root), plus any package
# names given as arguments (scripts/run_tests.sh adds the browser test's). Skips apt entirely
# when everything is already present, so repeated runs are fast and work offline.
set -euo pipefail
# ocl-icd-opencl-dev: Debian's dnnl-config.cmake calls find_package(OpenCL) even for the CPU
# runtime; it is only a Recommends of libdnnl-dev, which --no-install-recommends skips.
pkgs=(build-essential cmake pkg-config libdnnl-dev ocl-icd-opencl-dev nlohmann-json3-dev libcli11-dev
      libutf8proc-dev libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev liblzma-dev xz-utils clang
      libclang-rt-14-dev libcurl4-openssl-dev libssl-dev libcpp-httplib-dev libopenmpi-dev openmpi-bin jq
      "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
