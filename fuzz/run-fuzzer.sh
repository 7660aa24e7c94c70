#!/usr/bin/env bash
# run-fuzzer.sh <fuzzer binary> <seed corpus dir> <work dir> <libFuzzer flags...>
# Runs one fuzzer from the committed seeds plus what earlier runs found (kept in the work
# dir, outside the source tree) and prints how many executions it made. Fails on any crash,
# leak, timeout or sanitizer report; the input that caused it is saved in the work dir.
set -euo pipefail
binary=$1 seeds=$2 work=$3
shift 3
mkdir -p "$work/corpus" "$work/crashes"
log="$work/last-run.log"
status=0
"$binary" -seed=1 -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/crashes/" "$@" "$work/corpus" "$seeds" >"$log" 2>&1 || status=$?
name=$(basename "$binary")
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
echo "$name: ${runs:-0} executions, exit $status"
if [ $status -ne 0 ]; then
  tail -60 "$log"
  exit $status
fi
# A fuzzer that stops early (a time limit, a crash in its own start-up) would otherwise pass
# having checked little: the executions asked for with -runs must have been made.
for arg in "$@"; do
  case $arg in
    -runs=*)
      if [ "${runs:-0}" -lt "${arg#-runs=}" ]; then
        echo "$name: stopped after ${runs:-0} of ${arg#-runs=} executions" >&2
        tail -20 "$log"
        exit 1
      fi
      ;;
  esac
done
