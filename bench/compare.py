#!/usr/bin/env python3
"""Compares strata with psql and its peers (sqlx-cli, refinery, dbmate, squawk).

Usage: python3 bench/compare.py [--n 100,1000,10000] [--reps R] [--noop-reps 10]
                                [--only apply,noop,lint,start] [--no-build] [--json FILE]

Every tool talks to the local PostgreSQL over the unix socket /var/run/postgresql
(databases are created and dropped through STRATA_TEST_POSTGRES_URL, as in
apply.py). Peers missing from bench/.peers (gitignored) are installed there first;
strata is built (cargo build --release -p strata_cli) unless --no-build.

  apply  for each N, the migrations of apply.py applied by each tool to a fresh
         database (median of R: default 3 for N <= 1000, 1 above), checked by
         counting the tables t1..tN; against psql -f of the bodies, each in
         BEGIN/COMMIT (one transaction per migration, like every tool here).
  noop   the same command again once everything is applied (median of
         --noop-reps runs on the first repetition's database); against
         psql -c 'select 1' (the connect floor), and, when it can be built
         (libpq's and OpenSSL's headers), the floor of the work itself:
         bench/floor.c reads and hashes every file on every core while it
         connects, locks and reads strata's history, and does nothing else.
         Peak memory (max RSS, from wait4) of every apply and no-op run, in MiB
         (the largest over the runs).
  lint   strata lint vs squawk over 1,000 migration files (median of 5), and
         strata lint on one file of 16,000 INSERTs vs one of 1,000.
  start  strata --version and strata list (1-file project) vs psql --version
         (median of 20).

Targets (each marked met or MISSED): apply <= 1.0x psql BEGIN/COMMIT and ahead
of every peer; no-op <= 0.5x sqlx-cli's and <= 5x psql select 1; no-op peak
memory <= 50 MiB; lint <= 0.5x squawk; 16,000 statements <= 20x 1,000; start-up
faster than psql --version. With --only noop, each tool still applies once.
The bench databases get synchronous_commit = off unless --fsync: every tool
commits once per migration, and on a VM's disk the flush of each commit is
most of the time and varies more than the tools do.

dbmate is run as the Go binary npm installed (node_modules/@dbmate/<platform>),
not the node shim in node_modules/.bin, which adds ~150 ms and ~20 MiB of node
to every run; the shim is used only when the binary cannot be found.
"""

import argparse
import ctypes
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apply import PSQL, ROOT, Db, migration  # noqa: E402

SOCKET = "/var/run/postgresql"
PEERS = os.path.join(ROOT, "bench", ".peers")
STRATA = os.path.join(ROOT, "target", "release", "strata")
SQLX = os.path.join(PEERS, "bin", "sqlx")
REFINERY = os.path.join(PEERS, "bin", "refinery")
DBMATE_SHIM = os.path.join(PEERS, "npm", "node_modules", ".bin", "dbmate")
SQUAWK = os.path.join(PEERS, "py", "bin", "squawk")
FLOOR = os.path.join(PEERS, "floor")
FLOOR_ROW = "floor (C, bench/floor.c)"
V0 = 20240000000000
TOML = '[[source]]\nname = "app"\npath = "migrations"\nengine = "postgres"\n'
INSTALLS = [
    (SQLX, ["cargo", "install", "--root", PEERS, "sqlx-cli", "--no-default-features", "--features", "postgres,rustls"]),
    (REFINERY, ["cargo", "install", "--root", PEERS, "refinery_cli", "--no-default-features", "--features", "postgresql"]),
    (DBMATE_SHIM, ["npm", "install", "--prefix", os.path.join(PEERS, "npm"), "dbmate"]),
    (SQUAWK, [sys.executable, "-m", "pip", "install", "-q", "--target", os.path.join(PEERS, "py"), "squawk-cli"]),
]


def strata_url(db):  # also psql's: libpq reads a percent-encoded socket directory as the host
    return f"postgres://postgres@{quote(SOCKET, safe='')}/{db}"


def dbmate_binary():
    found = sorted(glob.glob(os.path.join(PEERS, "npm", "node_modules", "@dbmate", "*", "bin", "dbmate")))
    return found[0] if found else DBMATE_SHIM


# A process's ru_maxrss counts the memory it had before exec: a child that
# subprocess spawns (vfork) reports this script's own peak. So each command is
# forked by a small sh instead, held on a read until sh has exited, and reaped
# here (a child subreaper) with os.wait4; the floor that leaves is sh's ~1 MiB.
LAUNCH = 'exec 3<&0; { read go <&3 && exec "$@" 3<&-; } >/dev/null & echo $!'


def run(cmd, cwd=None, env=None, ok=(0,)):
    """Runs cmd, stdout discarded; returns (seconds, peak RSS in MiB). Fails loudly."""
    with tempfile.TemporaryFile() as err:
        sh = subprocess.Popen(["/bin/sh", "-c", LAUNCH, "sh", *cmd], cwd=cwd, env=env and {**os.environ, **env},
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        pid = int(sh.stdout.readline())
        sh.wait()
        t0 = time.perf_counter()
        sh.stdin.write(b"go\n")
        sh.stdin.close()
        _, status, usage = os.wait4(pid, 0)
        secs = time.perf_counter() - t0
        sh.stdout.close()
        if (code := os.waitstatus_to_exitcode(status)) not in ok:
            err.seek(0)
            sys.exit(f"FAILED (exit {code}): {' '.join(cmd)}\n{err.read().decode(errors='replace')[-4000:]}")
    return secs, usage.ru_maxrss / 1024


def output(cmd, cwd=None, ok=(0,)):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode not in ok:
        sys.exit(f"FAILED (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-4000:]}")
    return proc.stdout + proc.stderr


def install_peers(build):
    for path, cmd in INSTALLS:
        if not os.path.exists(path):
            print("installing:", " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True)
    source = os.path.join(ROOT, "bench", "floor.c")
    if not os.path.exists(FLOOR) or os.path.getmtime(FLOOR) < os.path.getmtime(source):
        include = subprocess.run(["pg_config", "--includedir"], capture_output=True, text=True).stdout.strip()
        built = subprocess.run(["cc", "-O2", "-o", FLOOR, source, f"-I{include or '/usr/include/postgresql'}",
                                "-lpq", "-lcrypto", "-lpthread"], capture_output=True, text=True)
        if built.returncode != 0:
            print("floor.c not built (it needs libpq's and OpenSSL's headers, e.g. libpq-dev and libssl-dev):",
                  built.stderr.strip().splitlines()[-1:] or "", flush=True)
    if build:
        print("building: cargo build --quiet --release -p strata_cli", flush=True)
        subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "strata_cli"], cwd=ROOT, check=True)


def machine():
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    server = output([PSQL, "-X", "-At", "-d", strata_url("postgres"), "-c", "show server_version"]).strip()
    versions = {name: output(cmd).strip().splitlines()[0] for name, cmd in [
        ("strata", [STRATA, "--version"]), ("psql", [PSQL, "--version"]), ("sqlx-cli", [SQLX, "--version"]),
        ("refinery", [REFINERY, "--version"]), ("dbmate", [dbmate_binary(), "--version"]),
        ("squawk", [SQUAWK, "--version"])]}
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": model, "kernel": platform.release(),
            "postgres": server, "versions": versions, "dbmate_binary": dbmate_binary()}


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def tools(d, n):
    """Writes each tool's layout of the N migrations under d; returns (name, apply, noop) commands."""
    bodies = [migration(i) for i in range(1, n + 1)]
    for i, b in enumerate(bodies, 1):
        write(f"{d}/strata/migrations/{V0 + i}_t{i}.sql", b)
        write(f"{d}/sqlx/{V0 + i}_t{i}.sql", b)
        write(f"{d}/refinery/V{i}__t{i}.sql", b)
        write(f"{d}/dbmate/{V0 + i}_t{i}.sql", f"-- migrate:up\n{b}\n-- migrate:down\n")
    write(f"{d}/wrapped.sql", "".join(f"BEGIN;\n{b}COMMIT;\n" for b in bodies))
    strata = lambda db: ([STRATA, "up", "-q", "--database-url", strata_url(db)], f"{d}/strata", None)
    sqlx = lambda db: ([SQLX, "migrate", "run", "--source", "sqlx", "--database-url",
                        f"postgres:///{db}?host={SOCKET}&user=postgres"], d, None)
    refinery = lambda db: ([REFINERY, "migrate", "-e", "STRATA_BENCH_REFINERY_URL", "-p", "refinery"], d,
                           {"STRATA_BENCH_REFINERY_URL": strata_url(db)})
    dbmate = lambda db: ([dbmate_binary(), "--url", f"postgres://postgres@/{db}?socket={SOCKET}&sslmode=disable",
                          "--migrations-dir", "dbmate", "--no-dump-schema", "up"], d, None)
    psql_apply = lambda db: ([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", strata_url(db), "-f", "wrapped.sql"], d, None)
    psql_floor = lambda db: ([PSQL, "-X", "-q", "-d", strata_url(db), "-c", "select 1"], d, None)
    return [("strata", strata, strata), ("psql BEGIN/COMMIT", psql_apply, psql_floor),
            ("sqlx-cli", sqlx, sqlx), ("refinery", refinery, refinery), ("dbmate", dbmate, dbmate)]


def count_tables(db):
    return int(output([PSQL, "-X", "-At", "-d", strata_url(db), "-c",
                       "select count(*) from pg_tables where schemaname = 'public' and tablename ~ '^t[0-9]+$'"]))


def bench_apply(n, reps, noop_reps, sections, work, fsync):
    """Each tool on a fresh database per repetition; the no-ops on the first repetition's."""
    commands, res = tools(f"{work}/n{n}", n), {}
    for rep in range(reps):
        noops = noop_reps if rep == 0 and "noop" in sections else 0
        for name, apply_cmd, noop_cmd in commands:
            r = res.setdefault(name, {"apply_s": [], "apply_mib": [], "noop_s": [], "noop_mib": []})
            with Db() as admin_url:
                db = admin_url.rsplit("/", 1)[1]
                if not fsync:
                    output([PSQL, "-X", "-q", "-d", admin_url, "-c",
                            f'ALTER DATABASE "{db}" SET synchronous_commit = off'])
                secs, mib = run(*apply_cmd(db))
                if (got := count_tables(db)) != n:
                    sys.exit(f"FAILED: {name} left {got} of the {n} tables (database {db})")
                r["apply_s"].append(secs)
                r["apply_mib"].append(mib)
                for _ in range(noops):
                    secs, mib = run(*noop_cmd(db))
                    r["noop_s"].append(secs)
                    r["noop_mib"].append(mib)
                    if name == "strata" and os.path.exists(FLOOR):
                        # Interleaved with strata's, on the same files and history.
                        f = res.setdefault(FLOOR_ROW, {"apply_s": [], "apply_mib": [], "noop_s": [], "noop_mib": []})
                        secs, mib = run([FLOOR, str(os.cpu_count()), f"{work}/n{n}/strata/migrations",
                                         f"host={SOCKET} dbname={db} user=postgres"])
                        f["noop_s"].append(secs)
                        f["noop_mib"].append(mib)
                if noops and (got := count_tables(db)) != n:
                    sys.exit(f"FAILED: {name}'s no-op left {got} of the {n} tables (database {db})")
    return res


def timed_cases(cases, runs):
    """Each case: (cmd, cwd, text its output must hold); a checked warm-up run, then `runs` timed ones."""
    res = {}
    for name, (cmd, cwd, expect) in cases.items():
        if expect not in output(cmd, cwd, ok=(0, 1)):
            sys.exit(f"FAILED: {name}: {' '.join(cmd[:3])} ... printed no {expect!r} (in {cwd})")
        samples = [run(cmd, cwd, ok=(0, 1)) for _ in range(runs)]
        res[name] = {"s": [s for s, _ in samples], "mib": [m for _, m in samples]}
    return res


def bench_lint(work, runs=5):
    project, files = f"{work}/lint", []
    write(f"{project}/strata.toml", TOML)
    for i in range(1, 1001):
        files.append(f"migrations/{V0 + i}_t{i}.sql")
        write(f"{project}/{files[-1]}", migration(i))
    for k in (1000, 16000):
        write(f"{work}/inserts{k}/strata.toml", TOML)
        write(f"{work}/inserts{k}/migrations/{V0 + 1}_inserts.sql",
              "".join(f"INSERT INTO t (id, label) VALUES ({i}, 'label {i}');\n" for i in range(1, k + 1)))
    lint = [STRATA, "lint", "migrations"]
    return timed_cases({
        "strata lint, 1,000 files": (lint, project, "1000 migration(s) linted"),
        "squawk, 1,000 files": ([SQUAWK, *files], project, "checked 1000 source files"),
        "strata lint, 1,000 INSERTs": (lint, f"{work}/inserts1000", "1 migration(s) linted"),
        "strata lint, 16,000 INSERTs": (lint, f"{work}/inserts16000", "1 migration(s) linted"),
    }, runs)


def bench_start(work, runs=20):
    project = f"{work}/start"
    write(f"{project}/strata.toml", TOML)
    write(f"{project}/migrations/{V0 + 1}_t1.sql", migration(1))
    return timed_cases({
        "strata --version": ([STRATA, "--version"], project, "strata"),
        "strata list (1 file)": ([STRATA, "list"], project, "app/"),
        "psql --version": ([PSQL, "--version"], project, "psql"),
    }, runs)


def ms(samples):
    return f"{statistics.median(samples) * 1000:.1f}" if samples else "-"


def table(title, headers, rows):
    print(f"\n{title}")
    cells = [headers] + rows
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for r in cells:
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


TARGETS = []


def target(label, value, limit, unit="x", strict=False):
    met = value < limit if strict else value <= limit
    TARGETS.append({"target": label, "value": value, "limit": limit, "met": met})
    op = "<" if strict else "<="
    print(f"  [{'met' if met else 'MISSED'}] {label}: {value:.2f}{unit} (target {op} {limit:g}{unit})")


def report_apply(n, reps, noop_reps, res, sections):
    med = lambda name, key: statistics.median(res[name][key]) if res[name][key] else None
    base, floor = med("psql BEGIN/COMMIT", "apply_s"), med("psql BEGIN/COMMIT", "noop_s")
    rows = []
    for name, r in res.items():
        apply_s, noop_s = med(name, "apply_s"), med(name, "noop_s")
        rows.append([name, ms(r["apply_s"]), f"{apply_s / base:.2f}x" if apply_s else "-",
                     ms(r["noop_s"]),
                     f"{noop_s / floor:.2f}x" if noop_s else "-",
                     f"{max(r['apply_mib']):.1f}" if r["apply_mib"] else "-",
                     f"{max(r['noop_mib']):.1f}" if r["noop_mib"] else "-"])
    table(f"N = {n}: apply median of {reps} fresh database(s), no-op median of {noop_reps if floor else 0} run(s)"
          " (psql's no-op is -c 'select 1')",
          ["tool", "apply ms", "vs psql", "no-op ms", "vs select 1", "peak MiB apply", "peak MiB no-op"], rows)
    strata = med("strata", "apply_s")
    if "apply" in sections:
        target(f"N={n} strata apply vs psql BEGIN/COMMIT", strata / base, 1.0)
        for peer in ("sqlx-cli", "refinery", "dbmate"):
            target(f"N={n} strata apply vs {peer} (ahead)", strata / med(peer, "apply_s"), 1.0, strict=True)
    if floor:
        noop = med("strata", "noop_s")
        target(f"N={n} strata no-op vs sqlx-cli no-op", noop / med("sqlx-cli", "noop_s"), 0.5)
        target(f"N={n} strata no-op vs psql select 1", noop / floor, 5.0)
        target(f"N={n} strata no-op peak memory", max(res["strata"]["noop_mib"]), 50, unit=" MiB")
        if FLOOR_ROW in res:
            least = med(FLOOR_ROW, "noop_s")
            print(f"  (the floor of the work: {least / med('sqlx-cli', 'noop_s'):.2f}x sqlx-cli's no-op, "
                  f"{least / floor:.2f}x select 1; strata's no-op is {noop / least:.2f}x the floor)")


def report_cases(title, res):
    table(title, ["command", "median ms", "peak MiB"],
          [[name, ms(r["s"]), f"{max(r['mib']):.1f}"] for name, r in res.items()])
    return {name: statistics.median(r["s"]) for name, r in res.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", default="100,1000,10000", help="migration counts, comma-separated")
    ap.add_argument("--reps", type=int, help="fresh databases per tool and N (default 3 for N <= 1000, else 1)")
    ap.add_argument("--noop-reps", type=int, default=10)
    ap.add_argument("--only", default="apply,noop,lint,start", help="sections, comma-separated")
    ap.add_argument("--no-build", action="store_true", help="use target/release/strata as it is")
    ap.add_argument("--json", metavar="FILE", help="also write the raw figures here")
    ap.add_argument("--fsync", action="store_true",
                    help="keep synchronous_commit on (by default the bench databases turn it off: a commit's "
                         "flush to this disk is most of each migration's time and varies more than the tools)")
    args = ap.parse_args()
    sections = set(args.only.split(","))
    if unknown := sections - {"apply", "noop", "lint", "start"}:
        ap.error(f"unknown sections: {', '.join(sorted(unknown))}")

    if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER, for run()
        sys.exit(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")
    install_peers(build=not args.no_build)
    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), Linux {info['kernel']}, PostgreSQL {info['postgres']}")
    print("tools:   " + "; ".join(info["versions"].values()))
    print(f"         psql = {PSQL}; dbmate = {info['dbmate_binary']}; all over the socket in {SOCKET}")
    figures = {"machine": info, "apply": {}}
    with tempfile.TemporaryDirectory(prefix="strata-compare-") as work:
        if sections & {"apply", "noop"}:
            for n in (int(x) for x in args.n.split(",")):
                reps = (args.reps or (3 if n <= 1000 else 1)) if "apply" in sections else 1
                res = bench_apply(n, reps, args.noop_reps, sections, work, args.fsync)
                report_apply(n, reps, args.noop_reps, res, sections)
                figures["apply"][n] = res
        if "lint" in sections:
            figures["lint"] = res = bench_lint(work)
            med = report_cases("lint: median of 5 runs (1,000 files of apply.py's migrations; strata.toml engine = postgres)", res)
            target("strata lint vs squawk, 1,000 files", med["strata lint, 1,000 files"] / med["squawk, 1,000 files"], 0.5)
            target("strata lint, 16,000 vs 1,000 INSERTs in one file",
                   med["strata lint, 16,000 INSERTs"] / med["strata lint, 1,000 INSERTs"], 20)
        if "start" in sections:
            figures["start"] = res = bench_start(work)
            med = report_cases("start-up: median of 20 runs", res)
            for name in ("strata --version", "strata list (1 file)"):
                target(f"{name} vs psql --version", med[name] / med["psql --version"], 1.0, strict=True)
    met = sum(t["met"] for t in TARGETS)
    print(f"\ntargets: {met} met, {len(TARGETS) - met} missed")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**figures, "targets": TARGETS}, f, indent=1)


if __name__ == "__main__":
    main()
