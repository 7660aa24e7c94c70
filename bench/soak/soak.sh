#!/usr/bin/env bash
# The 10-minute soak: SUBSCRIBERS long-pollers (parley-loadgen) with a steady publisher, plus
# login/logout churn (churn.mjs), against one broker and one frontend; resident memory of
# both sampled every SAMPLE seconds. Writes bench/results/soak-<DURATION>s.md (the RSS curve
# and the errors) and bench/results/raw/soak-*.
#   bench/soak/soak.sh                       # 600 s, 2,000 pollers, 1 msg/s, 2 logins/s
#   DURATION=60 SUBSCRIBERS=500 bench/soak/soak.sh
#   FRONTEND_FLAGS=--json_cache_messages=256 REPORT=soak-small-cache bench/soak/soak.sh
#   BROKER_FLAGS=--queue_capacity=128 DURATION=300 REPORT=soak-300s-queue128 bench/soak/soak.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-600}
SUBSCRIBERS=${SUBSCRIBERS:-2000}
RATE=${RATE:-1}
CHURN_RATE=${CHURN_RATE:-2}
SAMPLE=${SAMPLE:-10}
WARMUP=${WARMUP:-60}

source bench/lib.sh
build_bench
scratch=$(mktemp -d /tmp/parley-soak.XXXXXX)
raw=bench/results/raw
mkdir -p "$raw"
trap 'stop_sut; rm -rf "$scratch"' EXIT

start_parley
broker_pid=${sut_pids[0]}
frontend_pid=${sut_pids[1]}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }

taskset -c $LOAD_CORE build-bench/bench/loadgen/parley-loadgen \
  --target=127.0.0.1:$port --protocol=parley-api --scenario=soak \
  --subscribers="$SUBSCRIBERS" --rate="$RATE" --duration="$DURATION" --drain=15 \
  --pids="$pids" --out="$raw/soak-loadgen.json" >"$scratch/loadgen.out" &
loadgen=$!
taskset -c $LOAD_CORE node bench/soak/churn.mjs --target=127.0.0.1:$port \
  --duration="$DURATION" --rate="$CHURN_RATE" >"$raw/soak-churn.json" &
churn=$!

# The frontend's JSON cache fills up to its bound during the run; sampled to tell its growth
# from a leak.
json_cache() {
  (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 &&
   awk '/^parley_frontend_json_cache_messages / {print $2}' <&3) 2>/dev/null || echo ""
}
# And where the frontend's resident memory is: thread stacks, malloc heaps, other anonymous
# memory, mapped files (memory_map.py).
echo "seconds,broker_rss_kib,frontend_rss_kib,frontend_threads,json_cache_messages,frontend_stacks_kib,frontend_malloc_kib,frontend_anon_kib,frontend_file_kib" \
  >"$raw/soak-rss.csv"
start=$(date +%s)
while kill -0 $loadgen 2>/dev/null; do
  echo "$(( $(date +%s) - start )),$(rss_kib "$broker_pid"),$(rss_kib "$frontend_pid"),$(threads "$frontend_pid"),$(json_cache),$(python3 bench/soak/memory_map.py "$frontend_pid")" \
    >>"$raw/soak-rss.csv"
  sleep "$SAMPLE"
done
wait $loadgen
wait $churn
cat "$scratch/loadgen.out"
report=bench/results/${REPORT:-soak-${DURATION}s}.md
SOAK_SETTINGS="BROKER_FLAGS='${BROKER_FLAGS:-}' FRONTEND_FLAGS='${FRONTEND_FLAGS:-}' GLIBC_TUNABLES='${GLIBC_TUNABLES:-}' MALLOC_ARENA_MAX='${MALLOC_ARENA_MAX:-}'" \
  python3 bench/soak/summarize_soak.py "$raw" "$WARMUP" >"$report"
cat "$report"
