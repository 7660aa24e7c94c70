#!/usr/bin/env bash
# Starts parley-broker and parley-frontend together on this machine (make run). Ctrl-C or
# SIGTERM stops both gracefully.
#   BUILD_DIR (default build), BROKER_FLAGS, FRONTEND_FLAGS, PARLEY_SESSION_SECRET
set -euo pipefail
build_dir=${BUILD_DIR:-build}
broker_port=${PARLEY_BROKER_PORT:-50051}

"$build_dir/broker/parley-broker" --listen="127.0.0.1:$broker_port" ${BROKER_FLAGS:-} &
broker=$!
"$build_dir/frontend/parley-frontend" --listen=0.0.0.0:8080 --broker="127.0.0.1:$broker_port" \
  ${FRONTEND_FLAGS:-} &
frontend=$!

stop() {
  kill -TERM "$frontend" "$broker" 2>/dev/null || true
}
trap stop INT TERM
echo "Parley: open http://localhost:8080 (Ctrl-C stops)"
status=0
wait "$frontend" || status=$?
stop
wait "$broker" || true
exit "$status"
