#!/usr/bin/env bash
# Heap allocations per delivery in Parley's frontend and broker during fanout1k (#25): two
# runs of the same load, 10 s and 30 s, each process printing jemalloc's statistics at exit
# (MALLOC_CONF=stats_print:true); the difference in allocation requests between the runs,
# divided by the difference in deliveries, is what a delivery costs in steady state (the
# logins and start-up of both runs cancel out). Usage: bench/allocations.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'kill "${sut_pids[@]}" 2>/dev/null || true; rm -rf "$scratch"' EXIT
source bench/lib.sh
build_bench

# Prints "<deliveries> <frontend requests> <broker requests>" for a run of $1 seconds.
measure() {
  MALLOC_CONF=stats_print:true start_parley
  taskset -c $LOAD_CORE build-bench/bench/loadgen/parley-loadgen --target=127.0.0.1:8181 \
    --protocol=parley-api --scenario=fanout1k --subscribers=1000 --rate=10 --duration="$1" \
    --drain=5 --pids="$pids" --out="$scratch/out.json" >"$scratch/loadgen.log" 2>&1
  kill "${sut_pids[@]}"
  wait "${sut_pids[@]}" 2>/dev/null || true
  local delivered
  delivered=$(grep -oE '[0-9]+/[0-9]+ delivered' "$scratch/loadgen.log" | cut -d/ -f1)
  # jemalloc's "total:" line: allocated, nmalloc, (#/s), ndalloc, (#/s), nrequests, ...
  echo "$delivered $(awk '/^total:/ {print $7; exit}' "$scratch/frontend.log")" \
    "$(awk '/^total:/ {print $7; exit}' "$scratch/broker.log")"
}

read -r d1 f1 b1 < <(measure 10)
read -r d2 f2 b2 < <(measure 30)
awk -v d=$((d2 - d1)) -v f=$((f2 - f1)) -v b=$((b2 - b1)) 'BEGIN {
  printf "fanout1k: %.1f heap allocations per delivery in the frontend, %.1f in the broker (%d deliveries)\n", f / d, b / d, d }'
