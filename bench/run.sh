#!/usr/bin/env bash
# Runs Parley's benchmark scenarios against Parley and Nchan side by side and writes
# bench/results/. Usage: bench/run.sh [scenario ...]   (default: every scenario)
#   RUNS=2            runs of each scenario per system (medians are quoted)
#   SYSTEMS="parley nchan1 nchan2"
#   FRONTEND_FLAGS="--broker_channels=4"   extra flags for parley-frontend
# The system under test runs on core 1 (taskset -c 1), the load generator on core 0.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh --bench
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target parley-broker parley-frontend parley-loadgen \
  >/dev/null

ulimit -n "$(ulimit -Hn)"
RUNS=${RUNS:-2}
SYSTEMS=${SYSTEMS:-"parley nchan1 nchan2"}
SUT_CORE=1
LOAD_CORE=0
[ "$(nproc)" -ge 2 ] || { SUT_CORE=0; LOAD_CORE=0; }

# name subscribers rate(msg/s, 0 = burst) duration(s)
scenarios_all="siege10:10:1:20 fanout1k:1000:10:20 fanout5k:5000:2:20 hold10k:10000:0.2:30 burst:100:0:10"
selected=("$@")

scratch=$(mktemp -d /tmp/parley-bench.XXXXXX)
raw="$root/bench/results/raw"
mkdir -p "$raw"
pids=""
sut_pids=()

# Answers 0 when 127.0.0.1:port accepts (and, with a path, GET path answers 200). In a
# subshell: a failed redirection of `exec` would end the script itself.
probe() {
  ( exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    [ -z "${2:-}" ] && exit 0
    printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$2" >&3
    head -n 1 <&3 | grep -q ' 200 ' ) 2>/dev/null
}

wait_http() {  # port [path]: until probe passes, at most 30 s
  for _ in $(seq 300); do
    if probe "$@"; then return 0; fi
    sleep 0.1
  done
  echo "bench: port $1 is not ready" >&2
  return 1
}

# One load-generator user publishes every message, and thousands log in from 127.0.0.1: the
# per-user publish limit and the per-address login limit are lifted for the benchmark.
start_parley() {
  PARLEY_SESSION_SECRET=bench-secret-0123456789 taskset -c $SUT_CORE \
    build-bench/broker/parley-broker --listen=127.0.0.1:50151 --threads=1 \
    --publish_rate=1000000 --publish_burst=1000000 \
    >"$scratch/broker.log" 2>&1 &
  sut_pids=($!)
  PARLEY_SESSION_SECRET=bench-secret-0123456789 taskset -c $SUT_CORE \
    build-bench/frontend/parley-frontend --listen=127.0.0.1:8181 --broker=127.0.0.1:50151 \
    --max_connections=10500 --login_rate_per_minute=1e9 --login_burst=1e9 ${FRONTEND_FLAGS:-} >"$scratch/frontend.log" 2>&1 &
  sut_pids+=($!)
  port=8181
  wait_http 8181 /readyz
  pids=$(IFS=,; echo "${sut_pids[*]}")
}

start_nchan() {  # workers
  local dir="$scratch/nginx$1"
  mkdir -p "$dir"
  sed -e "s|@WORKERS@|$1|" -e "s|@PORT@|8182|" -e "s|@DIR@|$dir|" \
    bench/nchan/nginx.conf.in >"$dir/nginx.conf"
  taskset -c $SUT_CORE nginx -c "$dir/nginx.conf" -p "$dir" >"$dir/stdout.log" 2>&1 &
  sut_pids=($!)
  port=8182
  wait_http 8182
  # Measure the master and its workers.
  pids=$( (echo "${sut_pids[0]}"; pgrep -P "${sut_pids[0]}") | paste -sd, -)
  if [ "$1" -gt 1 ]; then
    # Two workers may use both cores: that is the point of the comparison.
    for pid in ${pids//,/ }; do taskset -a -p -c 0,1 "$pid" >/dev/null; done
  fi
}

stop_sut() {
  for pid in "${sut_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${sut_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  sut_pids=()
}
trap 'stop_sut; rm -rf "$scratch"' EXIT

for entry in $scenarios_all; do
  IFS=: read -r name subscribers rate duration <<<"$entry"
  if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " =~ " $name " ]]; then continue; fi
  for run in $(seq "$RUNS"); do
    for system in $SYSTEMS; do
      case $system in
        parley) start_parley; protocol=parley-api ;;
        parley-seed) start_parley; protocol=parley-seed ;;
        nchan1) start_nchan 1; protocol=nchan ;;
        nchan2) start_nchan 2; protocol=nchan ;;
        *) echo "bench: unknown system $system" >&2; exit 2 ;;
      esac
      taskset -c $LOAD_CORE build-bench/bench/loadgen/parley-loadgen \
        --target=127.0.0.1:$port --protocol=$protocol --scenario="$name" \
        --subscribers="$subscribers" --rate="$rate" --duration="$duration" --drain=15 \
        --pids="$pids" --out="$raw/$name-$system-$run.json" | sed "s/^/[$system run $run] /"
      stop_sut
    done
  done
done

python3 bench/summarize.py "$raw" "$root/bench/results"
echo "bench: wrote bench/results/results.md"
