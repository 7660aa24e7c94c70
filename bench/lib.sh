# Shared by bench/run.sh and bench/soak/soak.sh (sourced, from the repository root): the
# release build, starting and stopping Parley pinned to its core, readiness probes.
# The caller sets `scratch` (a temporary directory for logs).

# Installs what the benchmarks need and builds the programs (release, no tests).
build_bench() {
  scripts/install-deps.sh --bench
  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  cmake --build build-bench -j"$(nproc)" --target parley-broker parley-frontend parley-loadgen \
    >/dev/null
  ulimit -n "$(ulimit -Hn)"
}

# The system under test runs on core 1 (taskset -c 1), the load generators on core 0. Its
# ports are below the ephemeral range (32768-60999 here): a load generator's connection left
# in TIME_WAIT on a port in that range would keep a server from binding it.
SUT_CORE=1
LOAD_CORE=0
[ "$(nproc)" -ge 2 ] || { SUT_CORE=0; LOAD_CORE=0; }
# Where Parley's frontend runs: with the rest of the system unless the caller sets it (the
# fanout1k_apart scenario puts it on the load generator's core).
FRONTEND_CORE=${FRONTEND_CORE:-$SUT_CORE}
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
  echo "bench: port $1 is not ready; the servers' last log lines:" >&2
  tail -n 5 "$scratch"/*.log "$scratch"/*/*.log >&2 2>/dev/null || true
  return 1
}

# One load-generator user publishes every message, and thousands log in from 127.0.0.1: the
# per-user publish limit and the per-address login limit are lifted for the benchmark.
start_parley() {
  PARLEY_SESSION_SECRET=bench-secret-0123456789 taskset -c $SUT_CORE \
    build-bench/broker/parley-broker --listen=127.0.0.1:25151 --threads=1 \
    --metrics_listen=127.0.0.1:9151 \
    --publish_rate=1000000 --publish_burst=1000000 ${BROKER_FLAGS:-} \
    >"$scratch/broker.log" 2>&1 &
  sut_pids=($!)
  PARLEY_SESSION_SECRET=bench-secret-0123456789 taskset -c $FRONTEND_CORE \
    build-bench/frontend/parley-frontend --listen=127.0.0.1:8181 --broker=127.0.0.1:25151 \
    --max_connections=10500 --login_rate_per_minute=1e9 --login_burst=1e9 ${FRONTEND_FLAGS:-} >"$scratch/frontend.log" 2>&1 &
  sut_pids+=($!)
  port=8181
  wait_http 8181 /readyz/broker
  pids=$(IFS=,; echo "${sut_pids[*]}")
  metrics_ports=9151
}

# The Redis store: a redis-server of its own (AOF, everysec, as deployed) and two brokers
# over it, the frontend spreading calls over both; all on the system's core, all measured.
# Sets store_pid (redis-server) and metrics_ports (the brokers').
start_parley_redis() {
  local dir="$scratch/redis"
  rm -rf "$dir" && mkdir -p "$dir"
  taskset -c $SUT_CORE redis-server --port 6391 --bind 127.0.0.1 --dir "$dir" \
    --appendonly yes --appendfsync everysec --save "" --maxmemory-policy noeviction \
    >"$dir/redis.log" 2>&1 &
  sut_pids=($!)
  store_pid=$!
  wait_http 6391
  metrics_ports="9151 9152"
  local brokers=""
  for n in 1 2; do
    PARLEY_SESSION_SECRET=bench-secret-0123456789 taskset -c $SUT_CORE \
      build-bench/broker/parley-broker --listen=127.0.0.1:2515$n --threads=1 \
      --metrics_listen=127.0.0.1:915$n --redis=127.0.0.1:6391 \
      --publish_rate=1000000 --publish_burst=1000000 ${BROKER_FLAGS:-} \
      >"$scratch/broker$n.log" 2>&1 &
    sut_pids+=($!)
    brokers="$brokers${brokers:+,}127.0.0.1:2515$n"
  done
  PARLEY_SESSION_SECRET=bench-secret-0123456789 taskset -c $FRONTEND_CORE \
    build-bench/frontend/parley-frontend --listen=127.0.0.1:8181 --broker="$brokers" \
    --max_connections=10500 --login_rate_per_minute=1e9 --login_burst=1e9 ${FRONTEND_FLAGS:-} >"$scratch/frontend.log" 2>&1 &
  sut_pids+=($!)
  port=8181
  wait_http 8181 /readyz/broker
  # The brokers first: the loadgen reports the first pid on its own in a storm.
  pids=$(IFS=,; echo "${sut_pids[*]:1},${sut_pids[0]}")
}

stop_sut() {
  for pid in "${sut_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${sut_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  sut_pids=()
}
