#!/usr/bin/env bash
# Runs Parley's benchmark scenarios against Parley and Nchan side by side and writes
# bench/results/. Usage: bench/run.sh [scenario ...]   (default: every scenario)
#   RUNS=2            runs of each scenario per system (medians are quoted)
#   SYSTEMS="parley parley_redis nchan1 nchan2"   (parley_redis: the Redis store with two
#                                      brokers, run for REDIS_SCENARIOS only)
#   FRONTEND_FLAGS="--broker_channels=2"   extra flags for parley-frontend
# The system under test runs on core 1 (taskset -c 1), the load generator on core 0.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

source bench/lib.sh
build_bench
RUNS=${RUNS:-2}
SYSTEMS=${SYSTEMS:-"parley parley_redis nchan1 nchan2"}
# The Redis store is compared with the in-memory one where the issue asks (#15).
REDIS_SCENARIOS=${REDIS_SCENARIOS:-"fanout1k fanout1k_half fanout1k_apart hold10k"}

# name subscribers rate(msg/s, 0 = burst) duration(s); storm10k is a login storm (Parley only:
# Nchan has no logins or presence), storm10k_tokens the same storm with each login an app's
# HS256 token (--auth=tokens): it should cost the broker no more than a name login. unbatched1k: one message per poll (1 msg/s, well below
# saturation), so CPU per delivery is the cost of a delivery, not a core divided by throughput.
# idle10k: idle keep-alive connections held for 30 s (the server's CPU while nothing happens).
# fanout1k_half: fanout1k at half the rate, Parley's two stores only: the Redis store saturates
# the one core at fanout1k's rate, so CPU per delivery there would be a core divided by
# throughput, not its cost. fanout1k_apart: fanout1k with Parley's frontend on the load
# generator's core, its two stores only: the brokers (and redis-server) keep core 1 to
# themselves, as when frontends are a tier of their own, for the brokers' wake lag (#15).
scenarios_all="siege10:10:1:20 fanout1k:1000:10:20 fanout1k_half:1000:5:20 fanout1k_apart:1000:10:20 unbatched1k:1000:1:60 fanout5k:5000:2:20 hold10k:10000:0.2:30 burst:100:0:10 storm10k:10000:0:0 storm10k_tokens:10000:0:0 idle10k:10000:0:30"
selected=("$@")

scratch=$(mktemp -d /tmp/parley-bench.XXXXXX)
bench_jwt_secret=bench-app-secret-of-thirty-two-bytes
raw="$root/bench/results/raw"
# This run's reports only: a scenario it runs is summarized from its own runs alone (one left
# from an earlier invocation would be mixed into the medians); scenarios it does not run keep
# their committed bench/results/<scenario>.json.
rm -rf "$raw"
mkdir -p "$raw"

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

trap 'stop_sut; rm -rf "$scratch"' EXIT

for entry in $scenarios_all; do
  IFS=: read -r name subscribers rate duration <<<"$entry"
  if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " =~ " $name " ]]; then continue; fi
  for run in $(seq "$RUNS"); do
    for system in $SYSTEMS; do
      extra=()
      frontend_flags=${FRONTEND_FLAGS:-}
      store_pid=0
      metrics_ports=""
      if [ "$system" = parley_redis ] && [[ ! " $REDIS_SCENARIOS " =~ " $name " ]]; then
        continue
      fi
      if [[ "$name" = fanout1k_half || "$name" = fanout1k_apart ]] && [[ "$system" != parley* ]]; then
        continue
      fi
      frontend_core=$SUT_CORE
      [ "$name" = fanout1k_apart ] && frontend_core=$LOAD_CORE
      if [ "$name" = storm10k ] || [ "$name" = storm10k_tokens ]; then
        [ "$system" = parley ] || continue
        extra=(--storm --setup_window=32)
      fi
      if [ "$name" = storm10k_tokens ]; then  # the same storm, each login an app's token
        printf '%s' "$bench_jwt_secret" >"$scratch/jwt-secret"
        frontend_flags="$frontend_flags --auth=tokens --jwt_secret_file=$scratch/jwt-secret"
        extra+=(--login_token_secret="$bench_jwt_secret")
      fi
      if [ "$name" = idle10k ]; then
        extra=(--idle)
        frontend_flags="$frontend_flags --keep_alive_timeout=60s"
      fi
      case $system in
        parley) FRONTEND_CORE=$frontend_core FRONTEND_FLAGS=$frontend_flags start_parley
          protocol=parley-api ;;
        parley_redis) FRONTEND_CORE=$frontend_core FRONTEND_FLAGS=$frontend_flags start_parley_redis
          protocol=parley-api ;;
        parley-seed) start_parley; protocol=parley-seed ;;
        nchan1) start_nchan 1; protocol=nchan ;;
        nchan2) start_nchan 2; protocol=nchan ;;
        *) echo "bench: unknown system $system" >&2; exit 2 ;;
      esac
      taskset -c $LOAD_CORE build-bench/bench/loadgen/parley-loadgen \
        --target=127.0.0.1:$port --protocol=$protocol --scenario="$name" \
        --subscribers="$subscribers" --rate="$rate" --duration="$duration" --drain=15 \
        --pids="$pids" --store_pid="$store_pid" --out="$raw/$name-$system-$run.json" \
        "${extra[@]}" | sed "s/^/[$system run $run] /"
      if [ -n "$metrics_ports" ]; then
        python3 bench/wake_lag.py "$raw/$name-$system-$run.json" $metrics_ports
      fi
      stop_sut
    done
  done
done

python3 bench/summarize.py "$raw" "$root/bench/results"
echo "bench: wrote bench/results/results.md"
