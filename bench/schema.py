#!/usr/bin/env python3
"""Times `strata schema diff` against migra, and `strata schema dump`.

Usage: python3 bench/schema.py [--tables 1000] [--dump 1000,10000] [--runs 5] [--no-build]

Builds two PostgreSQL databases of N generated tables (mixed columns with
defaults, a primary key, a foreign key to the table before, two indexes);
the second differs from the first in every 50th table (a column added, an
index dropped, a default changed). Then reports medians of --runs runs:

  strata schema diff A B --sql  vs  migra A B --unsafe   (migra installed with pip
                                                           into bench/.peers/migra)
  strata schema dump            at each --dump size, with peak memory (max RSS)

Target (issue 14): strata's whole `schema diff` <= 0.3x migra's time. Both
read the two catalogs and write the DDL from A to B. Afterwards strata's DDL
is applied to A with psql and A must then diff equal to B.
"""

import argparse
import ctypes
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apply import PSQL, ROOT, Db  # noqa: E402
from compare import PEERS, STRATA, output, run, strata_url  # noqa: E402

MIGRA = os.path.join(PEERS, "migra")


def table(i, changed=False):
    fk = f",\n    parent_id bigint REFERENCES t{i - 1} (id)" if i > 1 else ""
    extra = ",\n    added_later text" if changed else ""
    default = "'draft'" if not changed else "'new'"
    index = "" if changed else f"CREATE INDEX t{i}_created ON t{i} (created_at);\n"
    return (
        f"CREATE TABLE t{i} (\n    id bigserial PRIMARY KEY{fk},\n    name text NOT NULL,\n"
        f"    state text NOT NULL DEFAULT {default},\n    amount numeric(12, 2) DEFAULT 0,\n"
        f"    created_at timestamptz NOT NULL DEFAULT now(){extra}\n);\n"
        f"CREATE INDEX t{i}_name ON t{i} (name);\n{index}"
    )


def build(url, n, changed_every=None):
    sql = "".join(table(i, changed_every is not None and i % changed_every == 0) for i in range(1, n + 1))
    # One transaction per statement: ten thousand tables hold more locks
    # than one transaction may.
    subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url],
                   input=sql, text=True, check=True, stdout=subprocess.DEVNULL)


def median_ms(samples):
    return statistics.median(s for s, _ in samples) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tables", type=int, default=1000)
    ap.add_argument("--dump", default="1000,10000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER, for run()
        sys.exit(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")
    if not os.path.exists(os.path.join(MIGRA, "bin", "migra")):
        print("installing: pip install --target bench/.peers/migra migra psycopg2-binary", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", MIGRA, "migra",
                        "psycopg2-binary"], check=True)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "strata_cli"], cwd=ROOT, check=True)
    migra_env = {"PYTHONPATH": MIGRA}
    n = args.tables
    with Db() as a_admin, Db() as b_admin:
        a, b = a_admin.rsplit("/", 1)[1], b_admin.rsplit("/", 1)[1]
        build(strata_url(a), n)
        build(strata_url(b), n, changed_every=50)
        strata = [STRATA, "schema", "diff", strata_url(a), strata_url(b), "--sql"]
        migra = [sys.executable, os.path.join(MIGRA, "bin", "migra"), "--unsafe",
                 f"postgresql+psycopg2://postgres@/{a}?host=/var/run/postgresql",
                 f"postgresql+psycopg2://postgres@/{b}?host=/var/run/postgresql"]
        found = output(strata[:-1], ok=(1,))
        if f"{2 * (n // 50)} difference(s)" not in found:
            sys.exit(f"FAILED: strata schema diff found something else than {2 * (n // 50)} differences:\n{found[-2000:]}")
        s_runs, m_runs = [], []
        for _ in range(args.runs):  # interleaved
            s_runs.append(run(strata, ok=(1,)))
            m_runs.append(run(migra, env=migra_env, ok=(0, 2, 3)))
        s, m = median_ms(s_runs), median_ms(m_runs)
        print(f"schema diff, two databases of {n} tables ({2 * (n // 50)} differences), median of {args.runs}:")
        print(f"  strata schema diff   {s:9.1f} ms   peak {max(r for _, r in s_runs):6.1f} MiB")
        print(f"  migra --unsafe       {m:9.1f} ms   peak {max(r for _, r in m_runs):6.1f} MiB")
        met = "met" if s / m <= 0.3 else "MISSED"
        print(f"  [{met}] strata schema diff --sql vs migra: {s / m:.2f}x (target <= 0.3x)")
        # The DDL is right: applied to A, A diffs equal to B.
        script = output(strata, ok=(1,))
        subprocess.run([PSQL, "-q", "-v", "ON_ERROR_STOP=1", strata_url(a)], input=script,
                       text=True, check=True, capture_output=True)
        output(strata[:-1], ok=(0,))
        print(f"  strata's DDL ({script.count(';')} statements) applied to A: A now diffs equal to B")
    for size in (int(x) for x in args.dump.split(",") if x):
        with Db() as admin:
            db = admin.rsplit("/", 1)[1]
            build(strata_url(db), size)
            dump = [STRATA, "schema", "dump", "--database-url", strata_url(db)]
            runs = [run(dump) for _ in range(args.runs)]
            print(f"schema dump of {size} tables: {median_ms(runs):9.1f} ms, peak {max(r for _, r in runs):6.1f} MiB")


if __name__ == "__main__":
    main()
