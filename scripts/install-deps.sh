#!/usr/bin/env bash
# Installs the Debian 12 packages Parley builds and tests with. Idempotent: installs only
# what is missing and prints nothing when everything is already present.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libabsl-dev libgtest-dev libgmock-dev libcpp-httplib-dev libssl-dev
)
# `install-deps.sh --bench`: also what bench/run.sh needs (Nchan as the baseline, taskset,
# python3 for the summary table).
if [ "${1:-}" = "--bench" ]; then
  packages+=(nginx-light libnginx-mod-nchan util-linux python3)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts an installed nginx as a service; the benchmark runs its own.
if printf '%s\n' "${missing[@]}" | grep -q '^nginx'; then
  (systemctl stop nginx || service nginx stop || nginx -s stop) >/dev/null 2>&1 || true
fi
