#!/usr/bin/env python3
"""How long a --report page takes to open in headless Chromium, by number of jobs; stdlib only.

  bench/report_render.py [--procpool build/procpool] [--sizes 30,5000,100000] [--rounds 3]

For each size, runs `procpool map --report` over that many small jobs (two lines of output
each, one with terminal colours; every 50th fails), then loads the page ROUNDS times with
`chromium --headless --dump-dom` (a fresh profile each time) and reports medians of:
  loaded        milliseconds from the start of navigation to the load event with the layout
                done (a measuring script, given the page's nonce, is added to a copy of the
                page: the same for any version of the report, so old and new pages compare)
  first screen  the page's own figure (#rendered's data-ms), where it has one: to the end of
                its script, the first screen's layout included
  filter        one search + status filter over every job, with its rows drawn (data-filter-ms,
                loaded as #q=1&status=failed)
  chromium      wall time of the whole chromium run (start-up, load and the DOM dump, which
                for a page of tens of MiB takes seconds itself), and the same for an empty page
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE = ("echo 'building part {}'; printf '\\033[32mok\\033[0m {} \\033[1mdone\\033[0m\\n'; "
            "[ $(({} % 50)) -ne 0 ]")


def load(url):
    """One headless load: (wall seconds, the dumped DOM)."""
    with tempfile.TemporaryDirectory() as profile:
        started = time.perf_counter()
        r = subprocess.run(
            ["chromium", "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--user-data-dir=" + profile, "--dump-dom", url],
            capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - started
    if r.returncode != 0:
        sys.exit(f"chromium failed on {url}:\n{r.stderr[-2000:]}")
    return wall, r.stdout


def marker(dom, attr, div="rendered"):
    m = re.search(r'<div id="' + div + r'"[^>]*\b' + attr + r'="([0-9.]+)"', dom)
    return float(m.group(1)) if m else float("nan")


LOADED = ("<script nonce=\"{}\">window.addEventListener('load', function () {{ "
          "document.body.offsetHeight; var d = document.createElement('div'); "
          "d.id = 'bench-loaded'; d.dataset.ms = String(Math.round(performance.now())); "
          "document.body.appendChild(d); }});</script>")


def with_load_mark(page):
    """A copy of `page` that notes when it has loaded, by a script the page's CSP lets run."""
    with open(page, encoding="utf-8") as f:
        html = f.read()
    nonce = re.search(r'<script nonce="([0-9a-f]+)">', html).group(1)
    at = html.rindex("</body>")
    copy = page + ".bench.html"
    with open(copy, "w", encoding="utf-8") as f:
        f.write(html[:at] + LOADED.format(nonce) + html[at:])
    return copy


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--procpool", default=os.path.join(ROOT, "build", "procpool"))
    ap.add_argument("--sizes", default="30,5000,100000")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        blank = os.path.join(tmp, "blank.html")
        with open(blank, "w") as f:
            f.write("<!doctype html><p>empty</p>")
        blank_wall = statistics.median(load("file://" + blank)[0] for _ in range(args.rounds))
        print(f"empty page: chromium {blank_wall:.2f} s (start-up alone)")
        print("| jobs | page size | loaded | first screen | filter | chromium wall |")
        print("|---:|---:|---:|---:|---:|---:|")
        for n in (int(s) for s in args.sizes.split(",")):
            page = os.path.join(tmp, f"report-{n}.html")
            inputs = "".join(f"{i}\n" for i in range(1, n + 1))
            subprocess.run([args.procpool, "map", "-q", "--report", page, TEMPLATE],
                           input=inputs, text=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            marked = with_load_mark(page)
            walls, loads, firsts, filters = [], [], [], []
            for _ in range(args.rounds):
                wall, dom = load("file://" + marked)
                walls.append(wall)
                loads.append(marker(dom, "data-ms", "bench-loaded"))
                firsts.append(marker(dom, "data-ms"))
                _, dom = load("file://" + marked + "#q=1&status=failed")
                filters.append(marker(dom, "data-filter-ms"))
            size = os.path.getsize(page)
            print(f"| {n:,} | {size / 1048576:.1f} MiB | {statistics.median(loads):.0f} ms | "
                  f"{statistics.median(firsts):.0f} ms | {statistics.median(filters):.0f} ms | "
                  f"{statistics.median(walls):.2f} s |", flush=True)


if __name__ == "__main__":
    main()
