#!/usr/bin/env python3
"""The Python baseline: concurrent.futures.ProcessPoolExecutor + as_completed.

    py_pool.py [-j P] [--argv] [FILE]

Runs one command per line of FILE (or stdin) with subprocess.run(capture_output=True) in a pool
of P worker processes, and writes each job's captured stdout/stderr as one block the moment it
completes -- the naive way to do what procpool does. Lines run through /bin/sh -c by default;
with --argv they are split on spaces and exec'd directly.
"""
import argparse
import concurrent.futures
import subprocess
import sys


def run(command, shell):
    done = subprocess.run(command if shell else command.split(), shell=shell, capture_output=True)
    return done.returncode, done.stdout, done.stderr


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-j", type=int, default=2)
    parser.add_argument("--argv", action="store_true")
    parser.add_argument("file", nargs="?", default="-")
    args = parser.parse_args()
    source = sys.stdin if args.file == "-" else open(args.file)
    failed = False
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.j) as pool:
        futures = [pool.submit(run, line.rstrip("\n"), not args.argv) for line in source if line.strip()]
        for future in concurrent.futures.as_completed(futures):
            code, out, err = future.result()
            sys.stdout.buffer.write(out)
            sys.stdout.buffer.flush()
            sys.stderr.buffer.write(err)
            failed |= code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
