#!/usr/bin/env python3
"""Longest first, measured.

40 `sleep` jobs of mixed durations at -j4, in the worst input order for a first-come,
first-served runner (shortest first, the longest last), run without history and then with the
journal of that first run. Prints both wall times against the lower bound on any schedule,
max(longest job, total / 4). Sleeps, so the figures hardly depend on the machine's load.

    bench/longest_first.py [--rounds N] [PROCPOOL]     (default: build/procpool, 3 rounds)
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import tempfile
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("procpool", nargs="?", default=os.path.join(root, "build", "procpool"))
parser.add_argument("--rounds", type=int, default=3)
args = parser.parse_args()

rng = random.Random(14)
durations = sorted([round(rng.uniform(0.1, 0.8), 1) for _ in range(35)] + [3.0] * 5)
total, longest = sum(durations), max(durations)
bound = max(longest, total / 4)


def wall(jobs, journal):
    start = time.monotonic()
    subprocess.run([args.procpool, "run", "-j4", "-q", "--journal", journal, jobs],
                   stdout=subprocess.DEVNULL, check=True)
    return time.monotonic() - start


before, after = [], []
with tempfile.TemporaryDirectory() as work:
    jobs = os.path.join(work, "jobs.json")
    with open(jobs, "w") as f:
        json.dump([{"name": f"job{i:02}", "cmd": f"sleep {d}"} for i, d in enumerate(durations)], f)
    for r in range(args.rounds):
        journal = os.path.join(work, f"round{r}.journal")
        before.append(wall(jobs, journal))  # no history yet: input order
        after.append(wall(jobs, journal))  # the journal knows every job: longest first

print(f"40 jobs at -j4: total {total:.2f}s, longest {longest:.2f}s, "
      f"lower bound {bound:.2f}s; medians of {args.rounds} rounds (min-max)")
for label, runs in (("input order (no history)", before), ("longest first (journal) ", after)):
    m = statistics.median(runs)
    print(f"{label}: {m:.2f}s = {m / bound:.2f}x the bound ({min(runs):.2f}-{max(runs):.2f}s)")
