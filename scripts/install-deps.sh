#!/usr/bin/env bash
# Installs the Debian 12 packages Parley builds and tests with, and the npm packages of the
# JavaScript tests (tests/js/package-lock.json). Idempotent: installs only what is missing
# and prints nothing when everything is already present.
#   --bench   also what bench/run.sh needs
#   --dev     also what `make dev` needs (inotify-tools)
#   --deploy  also what `make test-deploy` needs: a Docker engine and debootstrap
#   --build-only  just what compiling the programs needs (the container build stage): no
#                 browser, node, clang or nginx
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libabsl-dev libgtest-dev libgmock-dev libcpp-httplib-dev libssl-dev libjemalloc-dev
  libhiredis-dev libevent-dev libcpp-jwt-dev nlohmann-json3-dev
)
browser_tests=1
for mode in "$@"; do [ "$mode" = --build-only ] && browser_tests=0; done
if [ $browser_tests = 1 ]; then
  packages+=(chromium ca-certificates)
  # The Prometheus project's own text-format parser checks our /metrics in the tests.
  packages+=(python3 python3-prometheus-client)
  # The deploy checks: compose validation and kustomize.
  packages+=(docker-compose)
  command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)
  # Node.js for the browser tests: Debian's, unless the machine already has node and npm.
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
  # The fuzz targets: clang with libFuzzer's runtime.
  packages+=(clang libclang-rt-dev)
  # The TLS test makes its certificate authority with the openssl tool.
  packages+=(openssl)
  # The round-robin proxy in front of two frontends in the failover test.
  packages+=(nginx-light)
  # The Redis store's tests start their own redis-server on a free port.
  packages+=(redis-server)
fi
# --bench: Nchan as the baseline, taskset, python3 for the summary table.
for mode in "$@"; do
  case $mode in
    --bench) packages+=(nginx-light libnginx-mod-nchan util-linux python3 linux-perf) ;;
    --dev) packages+=(inotify-tools) ;;
    --deploy) packages+=(docker.io debootstrap) ;;
    --build-only) ;;
    *) echo "install-deps: unknown option $mode" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
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
  # Likewise redis-server: the tests start their own on free ports.
  if printf '%s\n' "${missing[@]}" | grep -q '^redis-server'; then
    (systemctl stop redis-server || service redis-server stop) >/dev/null 2>&1 || true
  fi
fi

# The JavaScript tests' npm packages (tests/js), exactly as locked: playwright-core drives
# the Debian chromium above and downloads no browser. Reinstalled when the lock file changed.
js="$(cd "$(dirname "$0")/.." && pwd)/tests/js"
stamp="$js/node_modules/.parley-lock"
if [ $browser_tests = 1 ] && ! cmp -s "$js/package-lock.json" "$stamp" 2>/dev/null; then
  echo "install-deps: npm ci in tests/js"
  (cd "$js" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$js/package-lock.json" "$stamp"
fi
