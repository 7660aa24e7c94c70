"""Writes the soak's report (Markdown) from bench/results/raw/soak-*: the RSS curve of both
services, their growth after warm-up, and every error the load and the churn saw.
Usage: summarize_soak.py <raw dir> <warm-up seconds>"""
import csv
import json
import os
import sys

raw, warmup = sys.argv[1], int(sys.argv[2])
rows = [{k: int(float(v)) if v else 0 for k, v in row.items()}
        for row in csv.DictReader(open(f"{raw}/soak-rss.csv"))]
load = json.load(open(f"{raw}/soak-loadgen.json"))
churn = json.loads(open(f"{raw}/soak-churn.json").read().strip().splitlines()[-1])

print("# Soak: RSS over time and errors\n")
print("Made by `bench/soak/soak.sh` (see bench/README.md); "
      f"settings: {os.environ.get('SOAK_SETTINGS', '')}.\n")
print(f"- pollers: {load['subscribers_connected']} of {load['subscribers']}, publisher: {load['rate']} msg/s "
      f"for {load['duration_s']} s ({load['messages_acknowledged']} of {load['messages_sent']} "
      f"acknowledged, {load['delivered']} of {load['deliveries_expected']} deliveries); "
      f"churn: {churn['cycles']} login/look/logout cycles")
after = [r for r in rows if r["seconds"] >= warmup]
for name in ("broker", "frontend"):
    key = f"{name}_rss_kib"
    if len(after) >= 2:
        first, last = after[0][key], after[-1][key]
        peak = max(r[key] for r in after)
        print(f"- {name} RSS after {warmup} s warm-up: {first / 1024:.1f} MiB → "
              f"{last / 1024:.1f} MiB at the end (peak {peak / 1024:.1f} MiB, "
              f"change {100.0 * (last - first) / first:+.1f} %)")
for key, label in (("frontend_stacks_kib", "thread stacks"), ("frontend_malloc_kib", "malloc heaps"),
                   ("frontend_anon_kib", "other anonymous memory")):
    if len(after) >= 2 and key in after[0]:
        print(f"  - frontend {label}: {after[0][key] / 1024:.1f} → {after[-1][key] / 1024:.1f} MiB")
print(f"- load: lost {load['lost']}, duplicated {load['duplicated']}, out of order "
      f"{load['out_of_order']}, errors {load['errors_total']} {load['errors'] or ''}; latency p99 "
      f"{load['latency_us']['p99'] / 1000:.0f} ms")
print(f"- churn: {churn['requests']} requests, {churn['errors']} errors "
      f"{churn['errors_by_kind'] or ''}\n")
print("Frontend RSS split by `memory_map.py`: thread stacks, malloc heaps, other anonymous "
      "memory (mapped files, ~constant, not shown).\n")
print("| s | broker RSS MiB | frontend RSS MiB | frontend threads | frontend JSON cache (messages) "
      "| frontend stacks MiB | frontend malloc MiB | frontend other anon MiB |")
print("|---|---|---|---|---|---|---|---|")
step = max(1, len(rows) // 40)
for r in rows[::step] + ([rows[-1]] if (len(rows) - 1) % step else []):
    print(f"| {r['seconds']} | {r['broker_rss_kib'] / 1024:.1f} | {r['frontend_rss_kib'] / 1024:.1f} "
          f"| {r['frontend_threads']} | {r['json_cache_messages']} "
          f"| {r.get('frontend_stacks_kib', 0) / 1024:.1f} | {r.get('frontend_malloc_kib', 0) / 1024:.1f} "
          f"| {r.get('frontend_anon_kib', 0) / 1024:.1f} |")
