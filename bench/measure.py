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
  cpu_own   (SC only) the runner process's own CPU time, all its threads (exited ones too),
            none of its children's: its process CPU-time clock (clock_getcpuclockid(3), ns),
            read once it has exited but before it is reaped. For that SC starts the runner as
            our own child, without /usr/bin/time (so no rss_max), and waits with WNOWAIT
  cpu_workers  (SC only) the same clock of each of procpool's workers (the coordinator's
            children named procpool), sampled every 10 ms and summed: each worker's last
            10 ms before it exits can be missed (its jobs are done by then)
"""
import argparse
import contextlib
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
ROOT = os.path.dirname(BENCH)
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
    own_cpu: bool = False      # measure the runner's own CPU (SC): run it without /usr/bin/time
    samples: list = field(default_factory=list)   # one dict per round

    def median(self, key):
        values = [s[key] for s in self.samples if s.get(key) is not None and s["ok"]]
        return statistics.median(values) if values else None

    def spread(self, key="wall"):
        """Half the range of the rounds, as a share of their median ("±4%"); "-" for one."""
        values = [s[key] for s in self.samples if s.get(key) is not None and s["ok"]]
        if len(values) < 2:
            return "-"
        return f"±{(max(values) - min(values)) / 2 / statistics.median(values) * 100:.0f}%"


@dataclass
class Variant:
    """One row group of a workload's table: the same batch for every tool."""
    name: str
    cases: list
    expect_bytes: int = None   # size the output file must have (checks nobody dropped output)
    ideal: float = None        # best possible wall time (W4)
    note: str = ""             # why a variant without cases was not run (W7)


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


def cpu_clock(pid):
    """Seconds of CPU that process `pid` has used: all its threads, exited ones included, none
    of its children. Its process CPU-time clock, MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED) as
    clock_getcpuclockid(3) builds it: ns resolution, any process may read it, and it still
    answers while `pid` is a zombie (exited, not yet reaped). OSError once it is gone."""
    return time.clock_gettime(((~pid) << 3) | 2)


def workers_of(pid, known):
    """The children of `pid` (from every thread's /proc children list) whose name is procpool,
    i.e. procpool's workers; `known` caches each child's verdict (a worker stays one)."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                children = [int(c) for c in f.read().split()]
        except OSError:
            continue
        for child in children:
            if child not in known:
                try:
                    with open(f"/proc/{child}/comm") as f:
                        known[child] = f.read().strip() == "procpool"
                except OSError:
                    continue
            if known[child]:
                found.append(child)
    return found


class Watcher(threading.Thread):
    """Samples the runner every 10 ms while it runs: its own peak RSS (the last VmHWM read),
    and whether it still makes progress. Kills the run's session when nothing has moved for
    `stall` seconds (a hung runner: our jobs are never idle that long) or after `timeout`.

    `runner`: the runner's pid when it is our own child (SC); otherwise it is found as the
    child of /usr/bin/time (`time_pid`). With `cpu`, each sample also reads the CPU clock of
    the runner's procpool workers: cpu_workers is the sum of each one's last reading."""

    def __init__(self, time_pid, stall, timeout, runner=None, cpu=False):
        super().__init__()
        self.time_pid, self.stall, self.timeout = time_pid, stall, timeout
        self.runner, self.cpu = runner, cpu
        self.done = threading.Event()
        self.rss_own = self.killed = self.cpu_own_polled = None
        self.worker_cpu = {}   # pid -> its last CPU clock reading

    def run(self):
        start = time.monotonic()
        pid, known = self.runner, {}
        while pid is None and not self.done.wait(0.001):
            pid = child_of(self.time_pid)
        last, moved = None, start
        while pid is not None and not self.done.wait(0.01):
            try:
                hwm, progress = read_proc(pid)
                if self.cpu:
                    self.cpu_own_polled = cpu_clock(pid)
                    for worker in workers_of(pid, known):
                        with contextlib.suppress(OSError):   # it may have just been reaped
                            self.worker_cpu[worker] = cpu_clock(worker)
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
    """Runs a case once under /usr/bin/time; returns {ok, wall, rss_max, rss_own[, error]}.

    A case with own_cpu runs without /usr/bin/time, as our child, and adds cpu_own (exact),
    cpu_missed (what the watcher's last reading of the same clock was short of it: what
    polling misses at the end) and cpu_workers, in seconds; rss_max is then None."""
    rss_file = os.path.join(OUT, "rss.txt")
    stdin = open(case.stdin, "rb") if case.stdin else subprocess.DEVNULL
    prefix = [] if case.own_cpu else ["/usr/bin/time", "-f", "%M", "-o", rss_file]
    cpu = {}
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(prefix + case.argv,
                                stdin=stdin, stdout=out, stderr=err, env=env, start_new_session=True)
        watcher = Watcher(proc.pid, stall, timeout, runner=proc.pid if case.own_cpu else None,
                          cpu=case.own_cpu)
        watcher.start()
        if case.own_cpu:
            # Wait for its exit but leave it a zombie: its CPU clock then holds the final total
            # of all its threads, which no poll of a live process can catch.
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            wall = time.perf_counter() - start
            watcher.done.set()
            watcher.join()
            own, polled = cpu_clock(proc.pid), watcher.cpu_own_polled
            cpu = {"cpu_own": own, "cpu_missed": own - polled if polled is not None else None,
                   "cpu_workers": sum(watcher.worker_cpu.values()),
                   "workers": len(watcher.worker_cpu)}
            rc = proc.wait()
        else:
            rc = proc.wait()   # blocking waitpid: no polling delay in the wall time
            wall = time.perf_counter() - start
            watcher.done.set()
            watcher.join()
    if stdin is not subprocess.DEVNULL:
        stdin.close()
    result = {"ok": True, "wall": wall, "rss_own": watcher.rss_own, "rss_max": None, **cpu}
    if watcher.killed:
        return dict(result, ok=False, error=watcher.killed)
    if not case.own_cpu:
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
        self.procpool = os.path.abspath(args.procpool)   # W7: the same path on the remote hosts
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


def w7_remote(tools, size, cluster):
    """W7: `true` jobs on other hosts: over ssh to the cluster's namespace hosts (2 slots on each
    of two), procpool against GNU parallel -S; and as Slurm tasks, procpool's --slurm (one srun
    per slot) against one srun per job from xargs -P4, what a Slurm user would otherwise write.

    GNU parallel (one ssh per job) and srun per job run a smaller batch, their wall time scaled
    up to the full count."""
    n = size(2000, 100)
    lines = write_input(f"true-{n}", ["true\n"] * n)
    variants = []
    hosts = cluster.get("PROCPOOL_NETNS_HOSTS", "").split()[:2]
    if len(hosts) < 2:
        variants.append(Variant("over ssh", [], note="skipped: the cluster has fewer than two "
                                f"namespace hosts (PROCPOOL_NETNS_HOSTS={' '.join(hosts)!r})"))
    else:
        ssh = "ssh -F " + shlex.quote(cluster["PROCPOOL_SSH_CONFIG"])
        slots = 2 * len(hosts)
        small = min(n, size(100, 50))  # the slow peers: wall scaled up to n
        few = write_input(f"true-{small}", ["true\n"] * small)
        cases = [Case("procpool", [tools.procpool, "run", "--ssh-cmd", ssh] +
                      [a for h in hosts for a in ("--ssh", f"2/{h}")] + ["--lines", "-", "-q"],
                      lines, n, slots, note="one ssh per worker slot")]
        if tools.available["GNU parallel"]:
            gnu = ["parallel", "--will-cite", "--ssh", ssh, "-S", ",".join(f"2/{h}" for h in hosts)]
            for argv, how in ((gnu, "one ssh per job"),
                              (gnu[:2] + ["--controlmaster"] + gnu[2:],
                               "--controlmaster: one ssh session per job over a master per host")):
                cases.append(Case("GNU parallel" + (" -M" if "--controlmaster" in argv else ""),
                                  argv, few, small, slots, scale=n / small, note=how))
        for c in cases[1:]:
            if c.scale != 1:
                c.note += f"; ran {small:,} jobs, wall x{c.scale:g}"
        variants.append(Variant(f"{n:,} jobs over ssh, {' + '.join(f'2/{h}' for h in hosts)}",
                                cases))
    if cluster.get("PROCPOOL_SLURM_OK") != "1":
        variants.append(Variant("Slurm", [], note="skipped: the cluster runs without Slurm "
                                "(PROCPOOL_SLURM_OK=0)"))
    elif not shutil.which("srun"):
        variants.append(Variant("Slurm", [], note="skipped: srun is not installed"))
    else:
        small = min(n, size(50, 20))
        numbers = write_input(f"numbers-{small}", (f"{i}\n" for i in range(1, small + 1)))
        variants.append(Variant(f"{n:,} jobs on Slurm, 4 slots", [
            Case("procpool", [tools.procpool, "run", "--slurm", "-j", "4", "--lines", "-", "-q"],
                 lines, n, 4, note="--slurm: one srun per worker slot"),
            Case("xargs + srun", ["xargs", "-P4", "-n1", "srun", "-n1", "-N1", "--quiet", "true"],
                 numbers, small, 4, scale=n / small,
                 note=f"one srun per job; ran {small:,} jobs, wall x{n / small:g}")]))
    return variants


class Cluster(contextlib.AbstractContextManager):
    """W7's test cluster (tests/cluster/setup): the one that is up already, or one started here
    and torn down on leaving (only then). `env` holds env.sh's variables; `skip` says why
    there is none."""

    def __init__(self):
        self.dir = os.environ.get("PROCPOOL_CLUSTER_DIR", "/tmp/procpool-cluster")
        self.env, self.skip, self.started = {}, None, False

    def __enter__(self):
        env_sh = os.path.join(self.dir, "env.sh")
        ours = not os.path.exists(env_sh)   # teardown deletes env.sh: none means nobody's is up
        if not ours and self._up(env_sh):
            print(f"W7: using the cluster that is up ({env_sh})", file=sys.stderr)
            return self
        if os.geteuid() != 0:
            self.skip = ("not root, and tests/cluster/setup needs root" if ours else
                         f"the cluster of {env_sh} does not answer over ssh, and restarting it "
                         "(tests/cluster/setup) needs root")
            return self
        log = os.path.join(OUT, "cluster-setup.log")
        print(f"W7: starting the test cluster: tests/cluster/setup (log: {log})", file=sys.stderr)
        self.started = ours
        with open(log, "wb") as f:
            rc = subprocess.run([os.path.join(ROOT, "tests/cluster/setup")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=f).returncode
        if rc != 0 or not self._up(env_sh):
            with open(log, errors="replace") as f:
                said = f.read().strip().splitlines() or ["no output"]
            said = next((l for l in reversed(said) if "FAILED" in l), said[-1])   # setup's die()
            self.skip = f"tests/cluster/setup failed (exit {rc}): {said}; log: {log}"
        return self

    def _up(self, env_sh):
        """Reads env.sh; true when every namespace host answers over ssh."""
        try:
            with open(env_sh) as f:
                self.env = dict(word.split("=", 1) for line in f
                                for word in shlex.split(line)[1:2] if "=" in word)
        except OSError:
            return False
        ssh = ["ssh", "-F", self.env.get("PROCPOOL_SSH_CONFIG", "/dev/null")]
        try:
            return all(subprocess.run(ssh + [h, "true"], stdin=subprocess.DEVNULL,
                                      capture_output=True, timeout=30).returncode == 0
                       for h in self.env.get("PROCPOOL_NETNS_HOSTS", "").split())
        except subprocess.TimeoutExpired:
            return False

    def __exit__(self, *exc):
        if self.started:
            print("W7: tearing down the cluster it started: tests/cluster/teardown",
                  file=sys.stderr)
            with open(os.path.join(OUT, "cluster-teardown.log"), "wb") as f:
                subprocess.run([os.path.join(ROOT, "tests/cluster/teardown")],
                               stdin=subprocess.DEVNULL, stdout=f, stderr=f)


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


def sc_scaling(tools, size):
    """SC: the same `true` batch at -j1 to -j32: jobs per second, and the CPU the coordinator
    and the workers spend per job (with xargs and the spawn loop at each -j for reference)."""
    n = size(5000, 300)
    lines = write_input(f"true-{n}", ["true\n"] * n)
    variants = []
    for p in (1, 2, 4, 8, 16, 32):
        cases = tools.shell(lines, p, ["procpool", "xargs", "spawn_loop"])
        for c in cases:
            c.own_cpu = True
        variants.append(Variant(f"-j{p}", cases))
    return variants


# ---------------------------------------------------------------- session and report

def run_workload(key, variants, args, env):
    cases = [c for v in variants for c in v.cases]
    # An srun can wait 0.1-3 s for the next scheduler pass, making no progress meanwhile.
    stall = max(args.stall, 15) if key == "W7" else args.stall
    for r in range(args.rounds if cases else 0):
        order = cases[r % len(cases):] + cases[:r % len(cases)]   # rotate: no fixed position
        for case in order:
            timeout = 60 + 0.05 * case.jobs   # a backstop; hangs are caught by --stall
            out = os.path.join(OUT, f"{key}.stdout")
            if key == "W6":
                sample = run_startup(case, env, args.startup_runs, stall, timeout)
            else:
                sample = run_once(case, out, os.path.join(OUT, f"{key}.stderr"), env, stall,
                                  timeout)
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
        if not v.cases:
            lines += [f"**{v.name}**: {v.note}", ""]
            continue
        extra = "over ideal" if v.ideal else "jobs/s" if key == "W5" else None
        head = ["tool", "wall (median)", "spread", "per-job overhead", "peak RSS runner",
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
                lines.append(f"| {c.tool} | failed | | | | | |" + (" |" if extra else "") +
                             f" {note.strip('; ')} |")
                continue
            full = wall * c.scale
            per_job = f"{wall * c.slots / c.jobs * 1000:.2f} ms" if c.jobs > 1 else "-"
            row = [c.tool, f"{full:.3f} s" if full >= 1 else f"{full * 1000:.1f} ms", c.spread(),
                   per_job,
                   mb(c.median("rss_own")), mb(c.median("rss_max")),
                   f"{full / base_wall:.2f}x" if base_wall else "-"]
            if extra == "over ideal":
                row.append(f"+{(wall - v.ideal) * 1000:.0f} ms")
            elif extra:
                row.append(f"{c.jobs / wall:,.0f}")
            lines.append("| " + " | ".join(row + [note.strip("; ")]) + " |")
        lines.append("")
    return "\n".join(lines)


def sc_table(key, title, variants):
    """SC's own table: one row per -j."""
    def per_job(case, key):
        value = case.median(key) if case else None
        return f"{value / case.jobs * 1e6:,.1f}" if value is not None else "-"

    def rate(case):
        wall = case.median("wall") if case else None
        return f"{case.jobs / wall:,.0f}" if wall else "failed" if case else "-"

    n = variants[0].cases[0].jobs if variants and variants[0].cases else 0
    head = ["-j", "wall", "spread", "jobs/s", "coordinator CPU µs/job", "worker CPU µs/job",
            "polling missed µs/job", "xargs jobs/s", "xargs CPU µs/job", "spawn_loop jobs/s",
            "spawn_loop CPU µs/job"]
    lines = [f"### {key}: {title}", "", f"**{n:,} jobs, sh -c**", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    coordinator, failures = [], []
    for v in variants:
        by = {c.tool: c for c in v.cases}
        pp, xa, sl = by.get("procpool"), by.get("xargs"), by.get("spawn_loop")
        wall = pp.median("wall") if pp else None
        own = pp.median("cpu_own") if pp else None
        if own is not None:
            coordinator.append(own / pp.jobs * 1e6)
        lines.append("| " + " | ".join([
            v.name, f"{wall:.3f} s" if wall else "failed", pp.spread() if pp else "-", rate(pp),
            per_job(pp, "cpu_own"),
            per_job(pp, "cpu_workers"), per_job(pp, "cpu_missed"), rate(xa),
            per_job(xa, "cpu_own"), rate(sl), per_job(sl, "cpu_own")]) + " |")
        failures += [f"{v.name} {c.tool}: {s['error'][:160]}" for c in v.cases
                     for s in c.samples if not s["ok"]]
    lines.append("")
    if coordinator:
        median = statistics.median(coordinator)
        lines.append(f"One coordinator saturates one core at about {1e6 / median:,.0f} jobs/s "
                     f"(1e6 / {median:.1f} µs, the median coordinator CPU per job over the -j "
                     "values).")
    lines.append("CPU per job: the process's own CPU clock (all its threads, none of its children) "
                 "over N. coordinator and xargs/spawn_loop: exact, read from the exited, not yet "
                 "reaped process. workers: each worker's clock polled every 10 ms and summed, so "
                 "up to 10 ms x P / N per job short at the end; 'polling missed' is what the same "
                 "polling missed of the coordinator's exact total (an estimate of that loss).")
    lines += [f"- FAILED {f}" for f in failures] + [""]
    return "\n".join(lines)


WORKLOADS = {
    "W1": ("`true` jobs (per-job cost)", w1_true),
    "W2": ("`echo line $i`, output grouped into a file", w2_echo),
    "W3": ("jobs printing 1 MB each into a file", w3_megabyte),
    "W4": ("`sleep 0.05` at -j8 (scheduling latency)", w4_sleep),
    "W5": ("a stream of `true` lines on stdin", w5_stream),
    "W6": ("start-up: one `true` job", w6_startup),
    "W7": ("`true` jobs on other hosts: ssh and Slurm", w7_remote),
    "W8": ("memory while output waits to be printed", w8_memory),
    "SC": ("scaling with -j: jobs/s and CPU per job of the coordinator", sc_scaling),
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--procpool", required=True)
    p.add_argument("--spawn-loop", required=True)
    p.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                   else sys.executable, help="interpreter for py_pool.py")
    p.add_argument("--quick", action="store_true", help="small batches, 1 round: a smoke test")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 5, --quick 1)")
    p.add_argument("--only", help="comma-separated workloads, e.g. W1,W3,SC")
    p.add_argument("--w5-lines", type=int, help="W5 stream length (default 1,000,000, --quick 2,000)")
    p.add_argument("--startup-runs", type=int, help="W6 starts per round (default 20, --quick 10)")
    p.add_argument("--stall", type=float,
                   help="kill a run that makes no progress for this many seconds (default 10, --quick 5)")
    args = p.parse_args()
    args.stall = args.stall or (5 if args.quick else 10)
    args.rounds = args.rounds or (1 if args.quick else 5)
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
              "medians; spread = half the range of the rounds over the median. per-job "
              "overhead = wall x P / N. peak RSS runner = the runner process's "
              "own peak (procpool: the coordinator alone; '-': too short to sample). peak RSS any "
              "process = /usr/bin/time %M, the largest single process of the tree (runner, "
              "procpool's workers, python's workers, jobs). vs procpool = wall / procpool's wall "
              "(above 1: slower than procpool).\n")
    print(legend, flush=True)
    tables = [legend]
    for key in keys:
        title, build = WORKLOADS[key]
        with Cluster() if key == "W7" else contextlib.nullcontext() as cluster:
            if cluster and cluster.skip:
                tables.append(f"### {key}: {title}\n\n{key} skipped: {cluster.skip}\n")
                print(tables[-1], flush=True)
                print(f"{key} skipped: {cluster.skip}", file=sys.stderr)
                report["workloads"][key] = {"title": title, "skipped": cluster.skip}
                continue
            variants = (build(tools, size, w5_lines) if key == "W5" else
                        build(tools, size, cluster.env) if cluster else build(tools, size))
            run_workload(key, variants, args, dict(env, **cluster.env) if cluster else env)
        tables.append((sc_table if key == "SC" else table)(key, title, variants))
        print(tables[-1], flush=True)
        report["workloads"][key] = {"title": title, "variants": [
            {"name": v.name, "ideal": v.ideal, "note": v.note, "cases": [
                {"tool": c.tool, "argv": c.argv[:12], "jobs": c.jobs, "slots": c.slots,
                 "scale": c.scale, "note": c.note, "samples": c.samples,
                 "median": {k: c.median(k) for k in
                            ("wall", "rss_own", "rss_max", "cpu_own", "cpu_missed", "cpu_workers")}}
                for c in v.cases]} for v in variants]}
    report["machine"]["loadavg_after"] = os.getloadavg()
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write("\n".join(tables))
    print(f"raw numbers: {os.path.relpath(os.path.join(OUT, 'results.json'))}", file=sys.stderr)


if __name__ == "__main__":
    main()
