#!/usr/bin/env python3
"""Times `strata up` against psql on fresh PostgreSQL databases, in one run.

Usage: python3 bench/apply.py [N] (default 1000)

Generates N realistic migrations (a table of 5-8 mixed columns with a
foreign key to the previous table, an index, an ALTER TABLE ADD COLUMN and a
few INSERTs) and reports, as medians over a few fresh databases:

  strata up                 vs  psql -f of the bodies, each in BEGIN/COMMIT
                                (one connection, one transaction per migration)
                            and psql -1 -f all.sql (one transaction in all)
  strata up with nothing to do  vs  psql -c 'select 1' (the connect floor)

psql is the server's own binary (not Debian's perl wrapper). Targets:
strata up <= 1.0x the BEGIN/COMMIT baseline; no-op <= 1.5x the connect floor.
"""

import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN = os.environ.get("STRATA_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BASE = ADMIN.rsplit("/", 1)[0]


def server_psql():
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"), reverse=True):
        return cand
    try:
        bindir = subprocess.check_output(["pg_config", "--bindir"], text=True).strip()
        return os.path.join(bindir, "psql")
    except (OSError, subprocess.CalledProcessError):
        return shutil.which("psql")


PSQL = server_psql()


def psql(url, *args):
    subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, *args],
                   check=True, stdout=subprocess.DEVNULL)


def migration(i):
    fk = f",\n    parent_id bigint REFERENCES t{i - 1} (id)" if i > 1 else ""
    return (
        f"CREATE TABLE t{i} (\n    id bigserial PRIMARY KEY{fk},\n    name text NOT NULL,\n"
        f"    amount numeric(12, 2) NOT NULL DEFAULT 0,\n    active boolean NOT NULL DEFAULT true,\n"
        f"    created_at timestamptz NOT NULL DEFAULT now(),\n    payload jsonb\n);\n"
        f"CREATE INDEX t{i}_name ON t{i} (name);\n"
        f"ALTER TABLE t{i} ADD COLUMN note text;\n"
        f"INSERT INTO t{i} (name, amount, payload) VALUES ('a{i}', {i}.5, '{{\"k\": {i}}}'), ('b{i}', 2.25, NULL);\n"
    )


class Db:
    counter = 0

    def __enter__(self):
        Db.counter += 1
        self.name = f"strata_bench_{os.getpid()}_{Db.counter}"
        psql(ADMIN, "-c", f'CREATE DATABASE "{self.name}"')
        return f"{BASE}/{self.name}"

    def __exit__(self, *exc):
        psql(ADMIN, "-c", f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def timed(cmd, **kw):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    reps = int(os.environ.get("BENCH_REPS", "3"))
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "strata_cli"], cwd=ROOT, check=True)
    strata = os.path.join(ROOT, "target", "release", "strata")
    work = tempfile.mkdtemp(prefix="strata-bench-")
    try:
        os.makedirs(os.path.join(work, "migrations"))
        bodies = [migration(i) for i in range(1, n + 1)]
        for i, body in enumerate(bodies, 1):
            with open(os.path.join(work, "migrations", f"{i:06d}_t{i}.sql"), "w") as f:
                f.write(body)
        with open(os.path.join(work, "all.sql"), "w") as f:
            f.write("".join(bodies))
        with open(os.path.join(work, "wrapped.sql"), "w") as f:
            f.write("".join(f"BEGIN;\n{b}COMMIT;\n" for b in bodies))

        results = {"strata up": [], "psql BEGIN/COMMIT each": [], "psql -1 all": []}
        noop, floor = [], []
        for _ in range(reps):
            with Db() as url:
                results["strata up"].append(timed([strata, "up", "-q", "--database-url", url], cwd=work))
                for _ in range(10):
                    noop.append(timed([strata, "up", "-q", "--database-url", url], cwd=work))
                    floor.append(timed([PSQL, "-X", "-q", "-d", url, "-c", "select 1"]))
            with Db() as url:
                results["psql BEGIN/COMMIT each"].append(timed([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", "wrapped.sql"], cwd=work))
            with Db() as url:
                results["psql -1 all"].append(timed([PSQL, "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", "all.sql"], cwd=work))

        med = {k: statistics.median(v) for k, v in results.items()}
        base = med["psql BEGIN/COMMIT each"]
        print(f"N = {n} migrations, median of {reps} fresh databases ({PSQL})")
        for k, v in med.items():
            print(f"  {k:<26} {v * 1000:9.1f} ms   {v / base:5.2f}x the BEGIN/COMMIT baseline")
        nm, fm = statistics.median(noop), statistics.median(floor)
        print(f"  {'strata up (nothing to do)':<26} {nm * 1000:9.1f} ms   {nm / fm:5.2f}x psql -c 'select 1' ({fm * 1000:.1f} ms)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
