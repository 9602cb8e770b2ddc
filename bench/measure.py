#!/usr/bin/env python3
"""procpool side by side with xargs -P, GNU parallel, moreutils parallel, a Python
ProcessPoolExecutor and a bare posix_spawn loop. Driven by bench/run; stdlib only.

Every workload builds one batch of commands and gives it to every tool. Rounds are interleaved
(A B C A B C ...), each tool's median is reported, and ratios are taken to procpool's median
from the same session, so a noisy shared machine shifts everyone alike.

Measurements (all here, in run_once):
  wall      time.perf_counter() around the whole run (under /usr/bin/time, same for everyone)
  rss_max   /usr/bin/time -f %M: the kernel's ru_maxrss from wait4, i.e. the largest peak of
            ANY single process in the runner's tree (runner, its workers, the jobs)
  rss_own   the runner process's own peak (VmHWM of /proc/PID/status, sampled every 10 ms):
            for procpool that is the coordinator alone, its workers are separate processes
"""
import argparse
import json
import math
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

BENCH = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(BENCH, "out")
TOOLS = ["procpool", "xargs", "GNU parallel", "moreutils parallel", "python pool", "spawn_loop"]


@dataclass
class Case:
    """One tool running one batch; run once per round."""
    tool: str
    argv: list
    stdin: str = None          # file fed on stdin (None: /dev/null)
    jobs: int = 0              # N
    slots: int = 1             # P
    scale: float = 1.0         # report wall x scale (a smaller batch standing in for the full one)
    note: str = ""
    samples: list = field(default_factory=list)   # one dict per round

    def median(self, key):
        values = [s[key] for s in self.samples if s.get(key) is not None and s["ok"]]
        return statistics.median(values) if values else None


@dataclass
class Variant:
    """One row group of a workload's table: the same batch for every tool."""
    name: str
    cases: list
    expect_bytes: int = None   # size the output file must have (checks nobody dropped output)
    ideal: float = None        # best possible wall time (W4)


# ---------------------------------------------------------------- measuring

def child_of(pid):
    """The pid whose parent is `pid` (the runner under /usr/bin/time), or None."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                return int(entry)
    return None


def read_proc(pid):
    """(VmHWM in KiB, progress) of a live process; progress changes while it does anything:
    its CPU time and its reaped children's, and the bytes it read and wrote."""
    with open(f"/proc/{pid}/status") as f:
        hwm = next((int(l.split()[1]) for l in f if l.startswith("VmHWM:")), None)
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    with open(f"/proc/{pid}/io") as f:
        io = [l for l in f if l.startswith(("rchar", "wchar"))]
    return hwm, (stat[stat.rindex(")") + 2:].split()[11:15], io)


class Watcher(threading.Thread):
    """Samples the runner every 10 ms while it runs: its own peak RSS (the last VmHWM read),
    and whether it still makes progress. Kills the run's session when nothing has moved for
    `stall` seconds (a hung runner: our jobs are never idle that long) or after `timeout`."""

    def __init__(self, time_pid, stall, timeout):
        super().__init__()
        self.time_pid, self.stall, self.timeout = time_pid, stall, timeout
        self.done = threading.Event()
        self.rss_own = self.killed = None

    def run(self):
        start = time.monotonic()
        pid = None
        while pid is None and not self.done.wait(0.001):
            pid = child_of(self.time_pid)
        last, moved = None, start
        while pid is not None and not self.done.wait(0.01):
            try:
                hwm, progress = read_proc(pid)
            except (OSError, StopIteration):
                return
            self.rss_own = hwm or self.rss_own
            now = time.monotonic()
            if progress != last:
                last, moved = progress, now
            if now - moved > self.stall or now - start > self.timeout:
                self.killed = (f"hung: no progress for {now - moved:.0f} s" if now - moved > self.stall
                               else f"took longer than {self.timeout:.0f} s")
                os.killpg(self.time_pid, signal.SIGKILL)   # the session run_once started
                return


def run_once(case, out_path, err_path, env, stall, timeout):
    """Runs a case once under /usr/bin/time; returns {ok, wall, rss_max, rss_own[, error]}."""
    rss_file = os.path.join(OUT, "rss.txt")
    stdin = open(case.stdin, "rb") if case.stdin else subprocess.DEVNULL
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_file] + case.argv,
                                stdin=stdin, stdout=out, stderr=err, env=env, start_new_session=True)
        watcher = Watcher(proc.pid, stall, timeout)
        watcher.start()
        rc = proc.wait()   # blocking waitpid: no polling delay in the wall time
        wall = time.perf_counter() - start
        watcher.done.set()
        watcher.join()
    if stdin is not subprocess.DEVNULL:
        stdin.close()
    result = {"ok": True, "wall": wall, "rss_own": watcher.rss_own, "rss_max": None}
    if watcher.killed:
        return dict(result, ok=False, error=watcher.killed)
    with open(rss_file) as f:
        last = (f.read().split() or [""])[-1]
    if last.isdigit():
        result["rss_max"] = int(last)
    if rc != 0:
        with open(err_path, errors="replace") as f:
            tail = f.read()[-300:].strip().replace("\n", " | ")
        result.update(ok=False, error=f"exit {rc}: {tail}")
    return result


def run_startup(case, env, runs, stall, timeout):
    """W6: median wall of `runs` starts (hyperfine when installed), plus one RSS run."""
    result = run_once(case, os.devnull, os.path.join(OUT, "W6.stderr"), env, stall, timeout)
    if not result["ok"]:
        return result
    if shutil.which("hyperfine"):
        export = os.path.join(OUT, "hyperfine.json")
        subprocess.run(["hyperfine", "-N", "--warmup", "2", "--runs", str(runs), "--style", "none",
                        "--export-json", export, shlex.join(case.argv)],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(export) as f:
            result["wall"] = json.load(f)["results"][0]["median"]
    else:
        walls = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(case.argv, env=env, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            walls.append(time.perf_counter() - start)
        result["wall"] = statistics.median(walls)
    return result


# ---------------------------------------------------------------- the tools

class Tools:
    """Builds each tool's command line for a batch; knows which tools are installed."""

    def __init__(self, args):
        self.procpool = args.procpool
        self.spawn_loop = args.spawn_loop
        self.python = args.python
        self.moreutils = shutil.which("parallel.moreutils")
        self.available = {
            "procpool": os.access(self.procpool, os.X_OK),
            "xargs": shutil.which("xargs") is not None,
            "GNU parallel": shutil.which("parallel") is not None and b"GNU parallel" in
            subprocess.run(["parallel", "--version"], capture_output=True).stdout,
            "moreutils parallel": self.moreutils is not None,
            "python pool": True,
            "spawn_loop": os.access(self.spawn_loop, os.X_OK),
        }

    def shell(self, lines, slots, tools=TOOLS, file_arg=False):
        """Cases running each line of the file `lines` as `/bin/sh -c LINE`, P at a time.

        Input comes on stdin, or as a file argument with file_arg (for hyperfine)."""
        j = str(slots)
        with open(lines) as f:
            commands = [line.rstrip("\n") for line in f if line.strip()]
        src = lines if file_arg else "-"
        stdin = None if file_arg else lines
        argvs = {
            "procpool": ([self.procpool, "run", "--lines", src, "-q", "-j", j], stdin),
            "xargs": (["xargs"] + (["-a", lines] if file_arg else []) +
                      ["-d", "\\n", "-n1", "-P", j, "sh", "-c"], stdin),
            "GNU parallel": (["parallel", "--will-cite", "-j", j] +
                             (["-a", lines] if file_arg else []), stdin),
            "moreutils parallel": ([self.moreutils, "-j", j, "--"] + commands, None),
            "python pool": ([self.python, os.path.join(BENCH, "py_pool.py"), "-j", j, src], stdin),
            "spawn_loop": ([self.spawn_loop, "-j", j, src], stdin),
        }
        notes = {"moreutils parallel": "commands as arguments (no stdin)",
                 "xargs": "output not grouped", "spawn_loop": "output not grouped"}
        return self._cases(argvs, notes, len(commands), slots, tools)

    def direct(self, program, count, slots, tools=TOOLS):
        """Cases exec'ing `program i` for i in 1..count without a shell, P at a time."""
        j = str(slots)
        numbers = write_input(f"numbers-{count}", (f"{i}\n" for i in range(1, count + 1)))
        argv_lines = write_input(f"argv-{program}-{count}",
                                 (f"{program} {i}\n" for i in range(1, count + 1)))
        job_file = write_input(f"jobs-{program}-{count}.jsonl",
                               (json.dumps({"cmd": [program, str(i)]}) + "\n"
                                for i in range(1, count + 1)))
        argvs = {
            "procpool": ([self.procpool, "run", job_file, "-q", "-j", j], None),
            "xargs": (["xargs", "-n1", "-P", j, program], numbers),
            "GNU parallel": (["parallel", "--will-cite", "-j", j, program], numbers),
            "moreutils parallel": ([self.moreutils, "-j", j, program, "--"] +
                                   [str(i) for i in range(1, count + 1)], None),
            "python pool": ([self.python, os.path.join(BENCH, "py_pool.py"), "--argv", "-j", j],
                            argv_lines),
            "spawn_loop": ([self.spawn_loop, "--argv", "-j", j], argv_lines),
        }
        notes = {"procpool": 'JSON job file, "cmd": [...]'}
        return self._cases(argvs, notes, count, slots, tools)

    def _cases(self, argvs, notes, count, slots, tools):
        """argvs: tool -> (argv, file for its stdin or None)."""
        return [Case(t, *argvs[t], count, slots, note=notes.get(t, ""))
                for t in tools if self.available[t]]


def write_input(name, lines):
    path = os.path.join(OUT, "input", name)
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "w") as f:
            f.writelines(lines)
        os.replace(path + ".tmp", path)
    return path


# ---------------------------------------------------------------- the workloads

def w1_true(tools, size):
    """W1: many `true` jobs, through /bin/sh -c and exec'd directly, at -j2 and -j8."""
    n = size(5000, 150)
    lines = write_input(f"true-{n}", ["true\n"] * n)
    return [Variant(f"{n:,} jobs, sh -c, -j{p}", tools.shell(lines, p)) if shell else
            Variant(f"{n:,} jobs, argv, -j{p}", tools.direct("true", n, p))
            for p in (2, 8) for shell in (True, False)]


def w2_echo(tools, size):
    """W2: `echo line $i`, output grouped per job into a file (xargs -P does not group)."""
    n = size(2000, 150)
    lines = write_input(f"echo-{n}", (f"echo line {i}\n" for i in range(1, n + 1)))
    expect = sum(len(f"line {i}\n") for i in range(1, n + 1))
    return [Variant(f"{n:,} jobs, -j2", tools.shell(lines, 2), expect_bytes=expect)]


def w3_megabyte(tools, size):
    """W3: jobs printing 1 MB each into a file: wall time and peak memory."""
    n = size(200, 20)
    lines = write_input(f"mb-{n}", ["head -c 1000000 /dev/zero\n"] * n)
    return [Variant(f"{n:,} jobs, -j2", tools.shell(lines, 2), expect_bytes=n * 1_000_000)]


def w4_sleep(tools, size):
    """W4: `sleep 0.05` jobs at -j8: scheduling latency against the ideal waves of 8."""
    n = size(100, 40)
    lines = write_input(f"sleep-{n}", ["sleep 0.05\n"] * n)
    return [Variant(f"{n:,} jobs, -j8", tools.shell(lines, 8), ideal=math.ceil(n / 8) * 0.05)]


def w5_stream(tools, size, big):
    """W5: a long stream of `true` lines on stdin: jobs per second and memory.

    Only procpool, xargs and spawn_loop run the full stream; the slower tools run a smaller
    one and their wall time is scaled up to the full count."""
    small = min(size(20000, 200), big)
    fast = [t for t in TOOLS if t in ("procpool", "xargs", "spawn_loop")]
    slow = [t for t in TOOLS if t not in fast]
    cases = tools.shell(write_input(f"true-{big}", ["true\n"] * big), 2, fast)
    for case in tools.shell(write_input(f"true-{small}", ["true\n"] * small), 2, slow):
        if small < big:
            case.scale = big / small
            case.note = f"ran {small:,} lines, wall x{case.scale:g}; RSS at {small:,}"
        cases.append(case)
    cases.sort(key=lambda c: TOOLS.index(c.tool))
    return [Variant(f"{big:,} lines, -j2", cases)]


def w6_startup(tools, size):
    """W6: start-up: one `true` job, whole-process wall time."""
    lines = write_input("true-1", ["true\n"])
    return [Variant("1 job, -j2", tools.shell(lines, 2, file_arg=True))]


def w8_memory(tools, size):
    """W8: memory while output waits: a reader that stops for 3 s, -k behind a slow first job,
    and --line-buffer given one endless line. Only the tools that group or order output hold
    anything (procpool, GNU parallel); the others have nothing to compare here."""
    n = size(300, 40)
    block = "head -c 500000 /dev/zero"
    lines = write_input(f"halfmb-{n}", [block + "\n"] * n)
    slow_first = write_input(f"halfmb-slow-{n}",
                             ["sleep 2; " + block + "\n"] + [block + "\n"] * (n - 1))
    endless = write_input("endless-line", [f"head -c {size(100_000_000, 10_000_000)} /dev/zero\n"])
    pp = [tools.procpool, "run", "--lines", "-", "-q", "-j", "2"]
    gnu = ["parallel", "--will-cite", "-j", "2"]
    have_gnu = tools.available["GNU parallel"]

    def cases(stdin, variants, note="", jobs=n, procpool_note=""):
        out = [Case("procpool", variants[0], stdin, jobs, 2, note=procpool_note or note)]
        if have_gnu:
            out.append(Case("GNU parallel", variants[1], stdin, jobs, 2, note=note))
        return out

    # The runner's stdout is a pipe whose reader sleeps first: peak RSS any process is the
    # runner's (the reader is cat).
    stopped = [["sh", "-c", 'exec "$@" | { sleep 3; exec cat; }', "sh"] + argv
               for argv in (pp, gnu)]
    return [
        Variant(f"{n:,} jobs of 500 KB, reader stopped 3 s, -j2",
                cases(lines, stopped, "peak RSS any process = the runner"),
                expect_bytes=n * 500000),
        Variant(f"-k behind a 2 s first job, {n:,} jobs of 500 KB, -j2",
                cases(slow_first, [pp + ["-k"], gnu + ["-k"]]), expect_bytes=n * 500000),
        Variant("--line-buffer, one job printing one endless line",
                cases(endless, [pp + ["--line-buffer"], gnu + ["--line-buffer"]],
                      jobs=1, procpool_note="a newline of procpool's every 64 KiB")),
    ]


# ---------------------------------------------------------------- session and report

def run_workload(key, variants, args, env):
    cases = [c for v in variants for c in v.cases]
    for r in range(args.rounds):
        order = cases[r % len(cases):] + cases[:r % len(cases)]   # rotate: no fixed position
        for case in order:
            timeout = 60 + 0.05 * case.jobs   # a backstop; hangs are caught by --stall
            out = os.path.join(OUT, f"{key}.stdout")
            if key == "W6":
                sample = run_startup(case, env, args.startup_runs, args.stall, timeout)
            else:
                sample = run_once(case, out, os.path.join(OUT, f"{key}.stderr"), env,
                                  args.stall, timeout)
                variant = next(v for v in variants if case in v.cases)
                if sample["ok"] and variant.expect_bytes is not None:
                    # Still timed, but the table says that output went missing.
                    sample["lost_bytes"] = variant.expect_bytes - os.path.getsize(out)
            case.samples.append(sample)
            status = f"{sample['wall']:.3f} s" if sample["ok"] else "FAILED: " + sample["error"]
            if sample.get("lost_bytes"):
                status += f" (output {-sample['lost_bytes']:+,} bytes)"
            print(f"  {key} round {r + 1}/{args.rounds} {case.tool:<18} {status}",
                  file=sys.stderr, flush=True)


def mb(kib):
    return f"{kib / 1024:.1f} MB" if kib is not None else "-"


def table(key, title, variants):
    lines = [f"### {key}: {title}", ""]
    for v in variants:
        base = next((c for c in v.cases if c.tool == "procpool"), None)
        base_wall = base.median("wall") * base.scale if base and base.median("wall") else None
        extra = "over ideal" if v.ideal else "jobs/s" if key == "W5" else None
        head = ["tool", "wall (median)", "per-job overhead", "peak RSS runner",
                "peak RSS any process", "vs procpool"] + ([extra] if extra else []) + ["notes"]
        lines += [f"**{v.name}**" + (f" (ideal {v.ideal:.3f} s)" if v.ideal else ""), "",
                  "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for c in v.cases:
            wall = c.median("wall")
            failed = [s["error"] for s in c.samples if not s["ok"]]
            lost = [s["lost_bytes"] for s in c.samples if s.get("lost_bytes")]
            note = c.note + (f"; {len(failed)}/{len(c.samples)} runs failed: {failed[0][:120]}"
                             if failed else "")
            note += (f"; **output lost** in {len(lost)}/{len(c.samples)} runs "
                     f"(up to {max(lost):,} bytes)" if lost else "")
            if wall is None:
                lines.append(f"| {c.tool} | failed | | | | |" + (" |" if extra else "") +
                             f" {note.strip('; ')} |")
                continue
            full = wall * c.scale
            per_job = f"{wall * c.slots / c.jobs * 1000:.2f} ms" if c.jobs > 1 else "-"
            row = [c.tool, f"{full:.3f} s" if full >= 1 else f"{full * 1000:.1f} ms", per_job,
                   mb(c.median("rss_own")), mb(c.median("rss_max")),
                   f"{full / base_wall:.2f}x" if base_wall else "-"]
            if extra == "over ideal":
                row.append(f"+{(wall - v.ideal) * 1000:.0f} ms")
            elif extra:
                row.append(f"{c.jobs / wall:,.0f}")
            lines.append("| " + " | ".join(row + [note.strip("; ")]) + " |")
        lines.append("")
    return "\n".join(lines)


WORKLOADS = {
    "W1": ("`true` jobs (per-job cost)", w1_true),
    "W2": ("`echo line $i`, output grouped into a file", w2_echo),
    "W3": ("jobs printing 1 MB each into a file", w3_megabyte),
    "W4": ("`sleep 0.05` at -j8 (scheduling latency)", w4_sleep),
    "W5": ("a stream of `true` lines on stdin", w5_stream),
    "W6": ("start-up: one `true` job", w6_startup),
    "W8": ("memory while output waits to be printed", w8_memory),
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--procpool", required=True)
    p.add_argument("--spawn-loop", required=True)
    p.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                   else sys.executable, help="interpreter for py_pool.py")
    p.add_argument("--quick", action="store_true", help="small batches, 1 round: a smoke test")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 3, --quick 1)")
    p.add_argument("--only", help="comma-separated workloads, e.g. W1,W3")
    p.add_argument("--w5-lines", type=int, help="W5 stream length (default 1,000,000, --quick 2,000)")
    p.add_argument("--startup-runs", type=int, help="W6 starts per round (default 20, --quick 10)")
    p.add_argument("--stall", type=float,
                   help="kill a run that makes no progress for this many seconds (default 10, --quick 5)")
    args = p.parse_args()
    args.stall = args.stall or (5 if args.quick else 10)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.startup_runs = args.startup_runs or (10 if args.quick else 20)
    w5_lines = args.w5_lines or (2000 if args.quick else 1_000_000)
    size = (lambda full, quick: quick) if args.quick else (lambda full, quick: full)
    keys = args.only.upper().split(",") if args.only else list(WORKLOADS)
    unknown = [k for k in keys if k not in WORKLOADS]
    if unknown:
        p.error(f"unknown workload {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")

    os.makedirs(OUT, exist_ok=True)
    tools = Tools(args)
    env = dict(os.environ, PARALLEL_SHELL="/bin/sh", PARALLEL_HOME=os.path.join(OUT, "parallel-home"))
    missing = [t for t, ok in tools.available.items() if not ok]
    if missing:
        print(f"bench: not installed, skipped: {', '.join(missing)}", file=sys.stderr)

    report = {"machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                          "loadavg_before": os.getloadavg()},
              "options": {"quick": args.quick, "rounds": args.rounds, "w5_lines": w5_lines},
              "workloads": {}}
    legend = (f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at start, {args.rounds} round(s), "
              "medians. per-job overhead = wall x P / N. peak RSS runner = the runner process's "
              "own peak (procpool: the coordinator alone; '-': too short to sample). peak RSS any "
              "process = /usr/bin/time %M, the largest single process of the tree (runner, "
              "procpool's workers, python's workers, jobs). vs procpool = wall / procpool's wall "
              "(above 1: slower than procpool).\n")
    print(legend, flush=True)
    tables = [legend]
    for key in keys:
        title, build = WORKLOADS[key]
        variants = build(tools, size, w5_lines) if key == "W5" else build(tools, size)
        run_workload(key, variants, args, env)
        tables.append(table(key, title, variants))
        print(tables[-1], flush=True)
        report["workloads"][key] = {"title": title, "variants": [
            {"name": v.name, "ideal": v.ideal, "cases": [
                {"tool": c.tool, "argv": c.argv[:12], "jobs": c.jobs, "slots": c.slots,
                 "scale": c.scale, "note": c.note, "samples": c.samples,
                 "median": {k: c.median(k) for k in ("wall", "rss_own", "rss_max")}}
                for c in v.cases]} for v in variants]}
    report["machine"]["loadavg_after"] = os.getloadavg()
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write("\n".join(tables))
    print(f"raw numbers: {os.path.relpath(os.path.join(OUT, 'results.json'))}", file=sys.stderr)


if __name__ == "__main__":
    main()
