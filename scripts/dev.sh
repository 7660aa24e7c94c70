#!/usr/bin/env bash
# make dev: the tutorial's "edit and see it" loop. Runs broker and frontend with --web_root
# on the source assets (edit frontend/web/*, reload the page), and rebuilds and restarts both
# when a C++ source, CMake file or proto changes (inotifywait from inotify-tools).
#   BUILD_DIR (default build), BROKER_FLAGS, FRONTEND_FLAGS, PARLEY_BROKER_PORT
set -uo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
broker_port=${PARLEY_BROKER_PORT:-50051}
# A fixed secret, so sessions survive the restarts of the loop.
export PARLEY_SESSION_SECRET=${PARLEY_SESSION_SECRET:-parley-dev-secret-not-for-production}
pids=()

build() {
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    cmake --build "$build_dir" -j"$(nproc)" --target parley-broker parley-frontend
}

start() {
  "$build_dir/broker/parley-broker" --listen="127.0.0.1:$broker_port" --drain_delay=0s \
    ${BROKER_FLAGS:-} &
  pids=($!)
  "$build_dir/frontend/parley-frontend" --listen=0.0.0.0:8080 --broker="127.0.0.1:$broker_port" \
    --web_root=frontend/web ${FRONTEND_FLAGS:-} &
  pids+=($!)
  echo "dev: http://localhost:8080 (web files served from frontend/web; Ctrl-C stops)"
}

stop() {
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null
  wait "${pids[@]}" 2>/dev/null
  pids=()
}
trap 'stop; exit 0' INT TERM

build || { echo "dev: the build failed; fix it and run make dev again" >&2; exit 1; }
start
while true; do
  # Blocks until a source changes; frontend/web is served live and needs no restart.
  inotifywait -qq -r -e close_write,create,delete,move \
    --include '(\.(cc|h|proto|cmake)|CMakeLists\.txt)$' broker common frontend proto CMakeLists.txt cmake
  sleep 0.3  # let an editor finish writing the rest of a save
  echo "dev: sources changed, rebuilding"
  if build; then
    stop
    start
  else
    echo "dev: the build failed; still running the previous binaries" >&2
  fi
done
