#!/usr/bin/env python3
"""One big migration file: `strata lint` time and `strata up` memory.

Usage: python3 bench/bigfile.py [MB] (default 50)

Writes a migration of about MB megabytes (a CREATE TABLE and hundreds of
thousands of INSERTs, as a data dump is), then measures with the release
build:

  strata lint               wall time (was quadratic in statements per file)
  strata up on SQLite       wall time and peak memory (RSS)
  strata up on PostgreSQL   wall time and peak memory, when the local server
                            answers (STRATA_TEST_POSTGRES_URL or the default)

Memory is reported as a ratio to the file's size. Targets: lint in seconds;
up in memory a small multiple of the file (statements are sent a window at a
time, never all at once).
"""

import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(args, cwd):
    """Wall time (s) and peak RSS (KiB) of `args`, via GNU time."""
    start = time.monotonic()
    out = subprocess.run(["/usr/bin/time", "-v", *args], cwd=cwd, capture_output=True, text=True)
    took = time.monotonic() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{out.stdout}\n{out.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    return took, rss


def main():
    mb = float(sys.argv[1]) if len(sys.argv) > 1 else 50.0
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "strata_cli"], cwd=ROOT, check=True)
    strata = os.path.join(ROOT, "target", "release", "strata")
    with tempfile.TemporaryDirectory() as work:
        os.makedirs(os.path.join(work, "migrations"))
        with open(os.path.join(work, "strata.toml"), "w") as f:
            # No environment: lint reads the files as PostgreSQL (squawk's
            # parser and rules too), up gets its database on the command line.
            f.write('[[source]]\nname = "app"\npath = "migrations"\n')
        path = os.path.join(work, "migrations", "1_big.sql")
        with open(path, "w") as f:
            f.write("CREATE TABLE t (id integer PRIMARY KEY, label text);\n")
            i = 0
            while f.tell() < mb * 1_000_000:
                f.write(f"INSERT INTO t (id, label) VALUES ({i}, 'label number {i} with some text to make it longer');\n")
                i += 1
        size = os.path.getsize(path) / 1024
        print(f"file: {size / 1024:.1f} MiB, {i + 1} statements")
        took, rss = measure([strata, "lint"], work)
        print(f"strata lint:            {took:6.1f} s, {rss / 1024:7.1f} MiB ({rss / size:.1f}x the file)")
        took, rss = measure([strata, "up", "--database-url", "sqlite://big.db"], work)
        print(f"strata up (SQLite):     {took:6.1f} s, {rss / 1024:7.1f} MiB ({rss / size:.1f}x the file)")
        admin = os.environ.get("STRATA_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        name = f"strata_bigfile_{os.getpid()}"
        made = subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], capture_output=True)
        if made.returncode != 0:
            print("strata up (PostgreSQL): skipped, the server does not answer")
            return
        try:
            url = admin.rsplit("/", 1)[0] + "/" + name
            took, rss = measure([strata, "up", "--database-url", url], work)
            print(f"strata up (PostgreSQL): {took:6.1f} s, {rss / 1024:7.1f} MiB ({rss / size:.1f}x the file)")
        finally:
            subprocess.run(["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], capture_output=True)


if __name__ == "__main__":
    main()
