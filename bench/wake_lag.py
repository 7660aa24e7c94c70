#!/usr/bin/env python3
"""Adds the brokers' wake lag to a loadgen report: bench/wake_lag.py REPORT.json PORT...
Reads parley_broker_wake_lag_seconds from each broker's /metrics, adds the histograms up,
and writes "wake_lag_ms": {"count", "p50", "p99", "within_5ms"} into the report (quantiles
interpolated within a bucket, as Prometheus' histogram_quantile does; within_5ms, the share of
wakes answered within #15's 5 ms target, is exact: 5 ms is a bucket bound)."""
import json
import sys
import urllib.request

NAME = "parley_broker_wake_lag_seconds"


def buckets(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(NAME + "_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            yield float(le), float(line.rsplit(" ", 1)[1])


def quantile(q, cumulative):
    total = cumulative[-1][1]
    if total == 0:
        return float("nan")
    rank, lower, below = q * total, 0.0, 0.0
    for upper, count in cumulative:
        if count >= rank:
            if upper == float("inf"):
                return lower
            return lower + (upper - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = upper, count
    return lower


TARGET_S = 0.005


def within(bound, cumulative):
    """The share (%) of observations at or below `bound`, which must be a bucket bound."""
    at = [count for upper, count in cumulative if upper == bound]
    if not at or cumulative[-1][1] == 0:
        return float("nan")
    return 100.0 * at[0] / cumulative[-1][1]


report_path, ports = sys.argv[1], sys.argv[2:]
summed = {}
report_missing = False
for port in ports:
    try:
        for le, count in buckets(port):
            summed[le] = summed.get(le, 0) + count
    except OSError as error:  # a broker that died: say so, keep the others' figures
        print(f"wake_lag: broker metrics on port {port}: {error}", file=sys.stderr)
        report_missing = True
cumulative = sorted(summed.items())
with open(report_path) as f:
    report = json.load(f)
report["wake_lag_ms"] = {
    "count": int(cumulative[-1][1]) if cumulative else 0,
    "p50": quantile(0.5, cumulative) * 1000 if cumulative else float("nan"),
    "p99": quantile(0.99, cumulative) * 1000 if cumulative else float("nan"),
    "within_5ms": within(TARGET_S, cumulative),
    "brokers_unreachable": report_missing,
}
with open(report_path, "w") as f:
    json.dump(report, f, indent=1)
print(f"wake lag over {report['wake_lag_ms']['count']} polls: p50 "
      f"{report['wake_lag_ms']['p50']:.2f} ms, p99 {report['wake_lag_ms']['p99']:.2f} ms, "
      f"{report['wake_lag_ms']['within_5ms']:.2f} % within 5 ms")
