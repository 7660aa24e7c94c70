"""Splits a process's resident memory (KiB) by what holds it, from /proc/PID/smaps:
  stacks  - mappings that hold a thread's stack pointer (/proc/PID/task/*/syscall)
  malloc  - glibc's heaps: [heap] and the 64 MiB-aligned arenas of other threads
  anon    - other private anonymous memory (large allocations mapped on their own, gRPC)
  file    - mapped files (the program and its libraries)
Prints "stacks,malloc,anon,file". A thread that is running has no stack pointer to read; its
stack is counted under anon (rare: most of the 2,000 threads wait in a system call).
Usage: memory_map.py PID"""
import bisect
import glob
import sys

ARENA_ALIGN = 64 << 20  # glibc's HEAP_MAX_SIZE on 64-bit


def stack_pointers(pid):
    sps = []
    for path in glob.glob(f"/proc/{pid}/task/*/syscall"):
        try:
            fields = open(path).read().split()
        except OSError:  # the thread ended
            continue
        if len(fields) >= 8:  # "nr a1..a6 sp pc"; "running" otherwise
            sps.append(int(fields[7], 16))
    return sorted(sps)


def main(pid):
    sps = stack_pointers(pid)
    totals = {"stacks": 0, "malloc": 0, "anon": 0, "file": 0}
    start = end = 0
    name = ""
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if "-" in fields[0] and not fields[0].endswith(":"):
                start, end = (int(x, 16) for x in fields[0].split("-"))
                name = fields[5] if len(fields) > 5 else ""
            elif fields[0] == "Rss:":
                rss = int(fields[1])
                i = bisect.bisect_left(sps, start)
                if (i < len(sps) and sps[i] < end) or name == "[stack]":
                    kind = "stacks"
                elif name == "[heap]" or (not name and start % ARENA_ALIGN == 0):
                    kind = "malloc"
                elif not name or name.startswith("["):
                    kind = "anon"
                else:
                    kind = "file"
                totals[kind] += rss
    print(",".join(str(totals[k]) for k in ("stacks", "malloc", "anon", "file")))


if __name__ == "__main__":
    main(sys.argv[1])
