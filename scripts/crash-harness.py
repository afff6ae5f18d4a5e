#!/usr/bin/env python3
"""kill -9 harness for strata.

Generates a project of migrations (deterministic from --seed), then, once per
cycle, on a fresh database: starts `strata up` and kills it with SIGKILL after
a random delay (up to 3 times), optionally terminating the killed run's server
session, then runs a plain `strata up` and checks that

  * it succeeds (exit code != 0 means a person would have to step in: "stuck"),
  * history does not lie (`strata status` says every migration is applied,
    `strata history` has exactly one `apply` entry per migration),
  * the schema and data equal those of a reference database built by applying
    the same up sections directly with psql / the mysql client / sqlite3.

Usage:
  python3 scripts/crash-harness.py --engine postgres|mysql|sqlite --cycles N \
      [--seed S] [--strata PATH] [--migrations 150] [--keep]

PostgreSQL: STRATA_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres)
MySQL/MariaDB: STRATA_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/)
SQLite: files in the temporary project directory.

Exit status: 0 when no cycle got stuck, lied or mismatched; 1 otherwise; 2 on
a harness error (bad arguments, a server that does not answer).

Standard library only (Python 3.11).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import hashlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

TIMEOUT = 120  # seconds, every helper subprocess
UP_TIMEOUT = 240  # the final `strata up` may wait up to 60s for the lock first
MAX_DETAIL_LINES = 40
HERE = Path(__file__).resolve().parent


class HarnessError(Exception):
    """A problem of the harness or its environment, not of strata."""


# --------------------------------------------------------------------------
# subprocesses


@dataclasses.dataclass
class Result:
    cmd: list[str]
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def output(self) -> str:
        return (self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr).strip()


def run(cmd, *, timeout=TIMEOUT, env=None, cwd=None, input=None) -> Result:
    try:
        p = subprocess.run(
            [str(c) for c in cmd],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=env,
            cwd=cwd,
            input=input,
        )
        return Result(list(map(str, cmd)), p.returncode, p.stdout, p.stderr)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return Result(list(map(str, cmd)), -1, out, err + f"\n[harness] timed out after {timeout}s", True)


def must(r: Result, what: str) -> Result:
    if r.returncode != 0:
        raise HarnessError(f"{what} failed (exit {r.returncode}): {' '.join(r.cmd[:3])} ...\n{truncate(r.output, 20)}")
    return r


def truncate(text: str, n: int = MAX_DETAIL_LINES) -> str:
    lines = text.rstrip("\n").splitlines()
    if len(lines) > n:
        lines = lines[: n - 1] + [f"... ({len(lines) - n + 1} more lines)"]
    return "\n".join(lines)


def digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------
# migration generation


@dataclasses.dataclass
class Migration:
    version: int
    name: str
    notx: bool
    up: list[str]  # statements, without the trailing ';'
    down: list[str]

    @property
    def filename(self) -> str:
        return f"{self.version}_{self.name}.sql"

    def text(self) -> str:
        out = ["-- strata:up"]
        if self.notx:
            out.append("-- strata:no-transaction")
        out += [s + ";" for s in self.up]
        out.append("")
        out.append("-- strata:down")
        out += [s + ";" for s in reversed(self.down)] or ["SELECT 1;"]
        return "\n".join(out) + "\n"

    def up_text(self) -> str:
        return "".join(s + ";\n" for s in self.up)


@dataclasses.dataclass
class Table:
    name: str
    ints: list[str]
    texts: list[str]
    next_id: int = 1


class Generator:
    """Random but valid DDL/DML for one engine; deterministic from the rng."""

    def __init__(self, engine: str, rng: random.Random):
        self.engine = engine
        self.rng = rng
        self.tables: list[Table] = []
        self.n = {"t": 0, "c": 0, "ix": 0, "v": 0, "k": 0}

    def new(self, kind: str) -> str:
        self.n[kind] += 1
        return f"{kind}{self.n[kind]}"

    # -- dialect helpers
    def concat(self, a: str, b: str) -> str:
        return f"CONCAT({a}, {b})" if self.engine == "mysql" else f"{a} || {b}"

    def series_insert(self, table: str, cols: list[str], exprs: list[str], lo: int, hi: int) -> str:
        collist = ", ".join(cols)
        sel = ", ".join(exprs)
        if self.engine == "postgres":
            return f"INSERT INTO {table} ({collist}) SELECT {sel} FROM generate_series({lo}, {hi}) AS s(g)"
        return (
            f"INSERT INTO {table} ({collist}) WITH RECURSIVE seq(g) AS "
            f"(SELECT {lo} UNION ALL SELECT g + 1 FROM seq WHERE g < {hi}) SELECT {sel} FROM seq"
        )

    # -- operations: each returns (up statements, down statements)
    def op_create_table(self, notx: bool):
        t = Table(self.new("t"), ["a"], ["b"])
        self.tables.append(t)
        return (
            [f"CREATE TABLE {t.name} (id integer PRIMARY KEY, a integer NOT NULL DEFAULT 0, b varchar(100))"],
            [f"DROP TABLE {t.name}"],
        )

    def op_add_column(self, notx: bool):
        t = self.rng.choice(self.tables)
        c = self.new("c")
        if self.rng.random() < 0.6:
            t.ints.append(c)
            decl = f"integer NOT NULL DEFAULT {self.rng.randint(0, 9)}"
        else:
            t.texts.append(c)
            decl = "varchar(100)"
        return [f"ALTER TABLE {t.name} ADD COLUMN {c} {decl}"], [f"ALTER TABLE {t.name} DROP COLUMN {c}"]

    def op_add_constraint(self, notx: bool):
        t = self.rng.choice(self.tables)
        k = self.new("k")
        col = self.rng.choice(t.ints)
        if self.engine == "sqlite":  # no ALTER TABLE ... ADD CONSTRAINT in SQLite
            name = f"{t.name}_{col}_uq_{k}"
            return [f"CREATE UNIQUE INDEX {name} ON {t.name} (id, {col})"], [f"DROP INDEX {name}"]
        if self.rng.random() < 0.5:
            name = f"{t.name}_{col}_chk_{k}"
            up = f"ALTER TABLE {t.name} ADD CONSTRAINT {name} CHECK ({col} >= 0)"
            down = f"ALTER TABLE {t.name} DROP CONSTRAINT {name}"
        else:
            name = f"{t.name}_{col}_uq_{k}"
            up = f"ALTER TABLE {t.name} ADD CONSTRAINT {name} UNIQUE (id, {col})"
            down = (f"ALTER TABLE {t.name} DROP INDEX {name}" if self.engine == "mysql"
                    else f"ALTER TABLE {t.name} DROP CONSTRAINT {name}")
        return [up], [down]

    def op_create_index(self, notx: bool):
        t = self.rng.choice(self.tables)
        ix = self.new("ix")
        cols = self.rng.sample(t.ints + t.texts, k=min(len(t.ints + t.texts), self.rng.choice([1, 1, 2])))
        conc = " CONCURRENTLY" if (notx and self.engine == "postgres") else ""
        up = f"CREATE INDEX{conc} {ix} ON {t.name} ({', '.join(cols)})"
        down = f"DROP INDEX {ix} ON {t.name}" if self.engine == "mysql" else f"DROP INDEX{conc} {ix}"
        return [up], [down]

    def op_create_view(self, notx: bool):
        t = self.rng.choice(self.tables)
        v = self.new("v")
        cols = ["id"] + self.rng.sample(t.ints + t.texts, k=min(2, len(t.ints + t.texts)))
        m = self.rng.randint(2, 7)
        return [f"CREATE VIEW {v} AS SELECT {', '.join(cols)} FROM {t.name} WHERE id % {m} = 0"], [f"DROP VIEW {v}"]

    def op_insert(self, notx: bool):
        t = self.rng.choice(self.tables)
        n = self.rng.randint(100, 500)
        lo, hi = t.next_id, t.next_id + n - 1
        t.next_id = hi + 1
        cols, exprs = ["id"], ["g"]
        for c in t.ints:
            if c == "a" or self.rng.random() < 0.5:
                cols.append(c)
                exprs.append(f"g % {self.rng.randint(3, 29)}")
        for c in t.texts:
            if c == "b" or self.rng.random() < 0.5:
                cols.append(c)
                exprs.append(self.concat(f"'{c}-'", "g"))
        return [self.series_insert(t.name, cols, exprs, lo, hi)], [f"DELETE FROM {t.name} WHERE id BETWEEN {lo} AND {hi}"]

    def op_update(self, notx: bool):
        # Not idempotent on purpose: running it twice changes the data.
        t = self.rng.choice(self.tables)
        m, r = self.rng.randint(2, 5), 0
        if self.rng.random() < 0.7:
            c = self.rng.choice(t.ints)
            return ([f"UPDATE {t.name} SET {c} = {c} + 1 WHERE id % {m} = {r}"],
                    [f"UPDATE {t.name} SET {c} = {c} - 1 WHERE id % {m} = {r}"])
        c = self.rng.choice(t.texts)
        return [f"UPDATE {t.name} SET {c} = {self.concat(c, repr('x'))} WHERE id % {m} = {r}"], []

    def op_slow(self, notx: bool):
        if self.engine == "postgres":
            return [f"SELECT pg_sleep({self.rng.choice([0.2, 0.3, 0.3, 0.4])})"], []
        if self.engine == "mysql":
            return [f"SELECT SLEEP({self.rng.choice([0.2, 0.3, 0.3, 0.4])})"], []
        n = self.rng.choice([600000, 800000, 1000000])
        return [f"WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < {n}) SELECT count(*) FROM r"], []

    WEIGHTS = {
        "create_table": 14, "add_column": 18, "add_constraint": 9, "create_index": 14,
        "create_view": 7, "insert": 17, "update": 11, "slow": 5,
    }

    def pick(self, notx: bool) -> str:
        w = dict(self.WEIGHTS)
        if len(self.tables) >= 30:
            w["create_table"] = 1
        if notx:
            w["slow"] = 14
        names = list(w)
        return self.rng.choices(names, weights=[w[k] for k in names])[0]

    def migration(self, version: int, notx: bool) -> Migration:
        up: list[str] = []
        down: list[str] = []
        ops: list[str] = []
        if not self.tables:
            ops.append("create_table")
        count = self.rng.randint(3, 5) if notx else self.rng.choice([1, 1, 2, 2, 3])
        while len(ops) < count:
            ops.append(self.pick(notx))
        if notx and self.engine == "postgres" and "create_index" not in ops:
            ops[self.rng.randrange(1 if ops[0] == "create_table" else 0, len(ops))] = "create_index"
        if notx and "slow" not in ops and self.rng.random() < 0.5:
            ops.insert(self.rng.randint(1, len(ops)), "slow")
        for op in ops:
            u, d = getattr(self, "op_" + op)(notx)
            up += u
            down += d
        name = ops[0] + ("_notx" if notx else "") + f"_{version}"
        return Migration(version, name, notx, up, down)


def generate(engine: str, seed: int, count: int) -> list[Migration]:
    rng = random.Random(f"{engine}:{seed}")
    gen = Generator(engine, rng)
    out = []
    for i in range(count):
        notx = i > 0 and rng.random() < 1 / 6
        out.append(gen.migration(1001 + i, notx))
    return out


# --------------------------------------------------------------------------
# engines


class Engine:
    name = ""

    def create(self, db: str) -> str: ...  # returns strata's URL for it
    def drop(self, db: str) -> None: ...
    def apply_reference(self, db: str, migrations: list[Migration], workdir: Path) -> None: ...
    def canonical(self, db: str) -> list[str]: ...
    def after_kill(self, db: str, rng: random.Random) -> str:
        return ""

    def stuck_context(self, db: str) -> list[str]:
        """Extra facts about a database the final `strata up` could not finish."""
        return []


class Postgres(Engine):
    name = "postgres"

    def __init__(self):
        self.base = os.environ.get("STRATA_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        for tool in ("psql", "pg_dump"):
            if not shutil.which(tool):
                raise HarnessError(f"{tool} is not installed")
        must(self.psql(self.base, "SELECT 1"), "connecting to PostgreSQL")

    def url(self, db: str) -> str:
        u = urllib.parse.urlsplit(self.base)
        return urllib.parse.urlunsplit(u._replace(path="/" + db))

    def psql(self, url: str, sql: str, timeout=TIMEOUT) -> Result:
        return run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql], timeout=timeout)

    def create(self, db: str) -> str:
        must(self.psql(self.base, f'CREATE DATABASE "{db}"'), f"creating database {db}")
        return self.url(db)

    def drop(self, db: str) -> None:
        r = self.psql(self.base, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        if r.returncode != 0:
            print(f"warning: could not drop database {db}: {r.output}", file=sys.stderr)

    def apply_reference(self, db, migrations, workdir):
        f = workdir / "reference-postgres.sql"
        f.write_text("".join(m.up_text() for m in migrations))
        # autocommit, statement by statement: CREATE INDEX CONCURRENTLY works
        must(run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url(db), "-f", f], timeout=600),
             "building the PostgreSQL reference")

    def canonical(self, db):
        url = self.url(db)
        r = must(run(["pg_dump", "--schema-only", "--no-owner", "--no-privileges",
                      "--exclude-table=strata_*", "-d", url]), "pg_dump")
        lines = []
        for line in r.stdout.splitlines():
            s = line.strip()
            if (not s or s.startswith("--") or s.startswith("SET ") or s.startswith("\\restrict")
                    or s.startswith("\\unrestrict") or s.startswith("SELECT pg_catalog.set_config")
                    or "strata_" in s):
                continue
            lines.append(line.rstrip())
        inv = must(self.psql(url, "SELECT indexrelid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                                  "WHERE NOT i.indisvalid AND c.relnamespace = 'public'::regnamespace ORDER BY 1"),
                   "listing invalid indexes")
        lines += [f"INVALID INDEX {x}" for x in inv.stdout.split()]
        tables = must(self.psql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                     "AND tablename NOT LIKE 'strata\\_%' ORDER BY 1"), "listing tables").stdout.split()
        script = "".join(f"\\echo ##TABLE {t}\nSELECT * FROM public.\"{t}\";\n" for t in tables)
        r = must(run(["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", url], input=script),
                 "reading table rows")
        return lines + rows_summary(r.stdout)

    def stuck_context(self, db):
        r = self.psql(self.url(db), "SELECT string_agg(indexrelid::regclass::text, ', ' ORDER BY 1) FROM pg_index i "
                                    "JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid "
                                    "AND c.relnamespace = 'public'::regnamespace")
        return [f"INVALID indexes in the database: {r.stdout.strip() or 'none'}"] if r.returncode == 0 else []

    def after_kill(self, db, rng):
        url = self.url(db)
        where = (f"datname = '{db}' AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                 "AND (application_name LIKE 'strata%' OR query ILIKE '%strata%')")
        alive = self.psql(url, f"SELECT count(*) FROM pg_stat_activity WHERE {where} AND state <> 'idle'")
        n = alive.stdout.strip() if alive.returncode == 0 else "?"
        if rng.random() < 0.5:
            r = self.psql(url, f"SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE {where}")
            return f"terminated {r.stdout.strip() if r.returncode == 0 else '?'}"
        return f"left {n} running"


class MySQL(Engine):
    name = "mysql"

    def __init__(self):
        self.base = os.environ.get("STRATA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/")
        u = urllib.parse.urlsplit(self.base)
        self.client = shutil.which("mariadb") or shutil.which("mysql")
        if not self.client:
            raise HarnessError("neither the mariadb nor the mysql client is installed")
        self.args = [self.client, "--protocol=tcp", "-h", u.hostname or "127.0.0.1", "-P", str(u.port or 3306),
                     "-u", urllib.parse.unquote(u.username or "root")]
        self.env = dict(os.environ)
        if u.password:
            self.env["MYSQL_PWD"] = urllib.parse.unquote(u.password)
        must(self.sql(None, "SELECT 1"), "connecting to MySQL/MariaDB")

    def url(self, db: str) -> str:
        u = urllib.parse.urlsplit(self.base)
        return urllib.parse.urlunsplit(u._replace(path="/" + db))

    def sql(self, db, sql: str | None = None, *, input=None, timeout=TIMEOUT) -> Result:
        cmd = self.args + ["-B", "-N"]
        if sql is not None:
            cmd += ["-e", sql]
        if db:
            cmd.append(db)
        return run(cmd, env=self.env, input=input, timeout=timeout)

    def create(self, db):
        must(self.sql(None, f"CREATE DATABASE `{db}`"), f"creating database {db}")
        return self.url(db)

    def kill_sessions(self, db) -> int:
        r = self.sql(None, f"SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '{db}' AND ID <> CONNECTION_ID()")
        ids = r.stdout.split() if r.returncode == 0 else []
        killed = 0
        for i in ids:
            if self.sql(None, f"KILL {int(i)}").returncode == 0:
                killed += 1
        return killed

    def drop(self, db):
        self.kill_sessions(db)
        r = self.sql(None, f"DROP DATABASE IF EXISTS `{db}`")
        if r.returncode != 0:
            print(f"warning: could not drop database {db}: {r.output}", file=sys.stderr)

    def apply_reference(self, db, migrations, workdir):
        text = "".join(m.up_text() for m in migrations)
        (workdir / "reference-mysql.sql").write_text(text)
        must(self.sql(db, input=text, timeout=600), "building the MySQL reference")

    def canonical(self, db):
        q = {
            "COLUMN": "SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA "
                      "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1, 2",
            "INDEX": "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, INDEX_TYPE "
                     "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1, 2, 3",
            "CONSTRAINT": "SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS "
                          "WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1, 2",
            "CHECK": "SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS cc "
                     "JOIN information_schema.TABLE_CONSTRAINTS tc ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA "
                     "AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME AND tc.CONSTRAINT_TYPE = 'CHECK' "
                     "WHERE cc.CONSTRAINT_SCHEMA = DATABASE() ORDER BY 1, 2",
            "VIEW": "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1",
            "TABLE": "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1",
        }
        lines = []
        for kind, sql in q.items():
            r = must(self.sql(db, sql), f"reading information_schema ({kind})")
            for row in r.stdout.splitlines():
                if row.startswith("strata_"):
                    continue
                lines.append(f"{kind} " + row.replace(f"`{db}`.", "`DB`."))
        tables = [ln.split("\t")[0] for ln in lines if ln.startswith("TABLE ") and ln.endswith("BASE TABLE")]
        tables = [t.removeprefix("TABLE ") for t in tables]
        script = "".join(f"SELECT '##TABLE {t}';\nSELECT * FROM `{t}`;\n" for t in tables)
        r = must(self.sql(db, input=script), "reading table rows")
        return lines + rows_summary(r.stdout)

    def after_kill(self, db, rng):
        if rng.random() < 0.5:
            return f"KILLed {self.kill_sessions(db)}"
        r = self.sql(None, f"SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = '{db}' "
                           f"AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'")
        return f"left {r.stdout.strip() if r.returncode == 0 else '?'} running"


class Sqlite(Engine):
    name = "sqlite"

    def __init__(self, workdir: Path):
        self.dir = workdir / "db"
        self.dir.mkdir(exist_ok=True)

    def path(self, db: str) -> Path:
        return self.dir / f"{db}.db"

    def create(self, db):
        self.drop(db)
        return f"sqlite://{self.path(db)}"

    def drop(self, db):
        for suffix in ("", "-wal", "-shm", "-journal"):
            p = Path(str(self.path(db)) + suffix)
            if p.exists():
                p.unlink()

    def apply_reference(self, db, migrations, workdir):
        con = sqlite3.connect(self.path(db), isolation_level=None)
        try:
            for m in migrations:
                try:
                    con.executescript(m.up_text())
                except sqlite3.Error as e:
                    raise HarnessError(f"building the SQLite reference: {m.filename}: {e}") from e
        finally:
            con.close()

    def canonical(self, db):
        con = sqlite3.connect(f"file:{self.path(db)}?mode=ro", uri=True)
        try:
            lines, tables = [], []
            for typ, name, tbl, sql in con.execute(
                    "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"):
                if name.startswith(("sqlite_", "strata_")) or tbl.startswith("strata_"):
                    continue
                lines.append(f"{typ} {name} ON {tbl}: {' '.join((sql or '').split())}")
                if typ == "table":
                    tables.append(name)
            out = []
            for t in tables:
                out.append(f"##TABLE {t}")
                for row in con.execute(f'SELECT * FROM "{t}"'):
                    out.append("\t".join("NULL" if v is None else str(v) for v in row))
            return lines + rows_summary("\n".join(out))
        finally:
            con.close()


def rows_summary(text: str) -> list[str]:
    """'##TABLE t' markers followed by rows -> one line per table: count and hash of the sorted rows."""
    tables: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("##TABLE "):
            current = line[len("##TABLE "):].strip()
            tables[current] = []
        elif current is not None and line != "":
            tables[current].append(line)
    return [f"ROWS {t}: {len(rows)} rows, data {digest(sorted(rows))}" for t, rows in sorted(tables.items())]


# --------------------------------------------------------------------------
# strata


def events(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def strata_error(r: Result) -> str:
    """The error message of a failed strata run (its JSON error line, else its output)."""
    for ev in reversed(events(r.stdout)):
        if "error" in ev and isinstance(ev["error"], dict):
            return ev["error"].get("message", "")
    return r.output or f"exit {r.returncode}"


def normalise(message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "(no message)"
    first = re.sub(r"app/\d+ \([^)]*\)", "app/N (NAME)", first)
    first = re.sub(r"migrations/[^\s:]+\.sql:\d+", "FILE:LINE", first)
    first = re.sub(r"\b(t|c|ix|v|k)\d+\b", r"\1N", first)
    first = re.sub(r"\d+", "N", first)
    return first


class Cycle:
    def __init__(self, h: "Harness", index: int):
        self.h = h
        self.index = index
        self.rng = random.Random(f"{h.seed}:cycle:{index}")
        self.db = f"{h.prefix}_c{index}"
        self.kills = 0
        self.kill_notes: list[str] = []
        self.stuck = self.lying = self.mismatch = False
        self.message = ""
        self.details: list[str] = []

    def strata(self, url: str, *args, timeout=TIMEOUT) -> Result:
        return run([self.h.strata, *args, "--database-url", url], cwd=self.h.project, timeout=timeout)

    def up_cmd(self, url: str) -> list[str]:
        cmd = [self.h.strata, "up", "--database-url", url, "--format", "json"]
        if self.h.lock_timeout_flag:
            cmd += ["--lock-timeout", "60s"]
        return cmd

    def run(self) -> None:
        h = self.h
        url = h.engine.create(self.db)
        try:
            self.kill_phase(url)
            self.final(url)
        finally:
            h.kill_children()
            if not h.keep:
                h.engine.drop(self.db)

    def kill_phase(self, url: str) -> None:
        h = self.h
        # Most cycles first apply a random prefix without interruption, so
        # that the kills (0-1.5s into a run) land all over the list rather
        # than always in its first migrations.
        if self.rng.random() < 0.75 and len(h.migrations) > 10:
            target = self.rng.choice(h.migrations[: -5]).version
            r = run(self.up_cmd(url) + ["--to", str(target)], cwd=h.project, timeout=UP_TIMEOUT)
            self.kill_notes.append(f"up --to {target}" + ("" if r.returncode == 0 else f" exit {r.returncode}"))
            if r.returncode != 0:
                return  # the final up reports it
        wanted = self.rng.randint(1, 3)
        for attempt in range(wanted):
            delay = self.rng.uniform(0.0, 1.5)
            log = h.project / f"cycle{self.index}-run{attempt + 1}.out"
            with open(log, "w") as out:
                p = subprocess.Popen(self.up_cmd(url), cwd=h.project, stdout=out, stderr=subprocess.STDOUT)
                h.children.append(p)
                try:
                    p.wait(timeout=delay)
                    finished = True
                except subprocess.TimeoutExpired:
                    finished = False
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait(timeout=TIMEOUT)
                h.children.remove(p)
            evs = events(log.read_text(errors="replace"))
            if finished:
                if p.returncode != 0:
                    self.kill_notes.append(f"run {attempt + 1} exit {p.returncode} before its kill")
                break  # nothing left to interrupt (or it failed: the final up will say why)
            self.kills += 1
            where = "before any migration"
            started = [e for e in evs if e.get("event") == "migration_started"]
            done = {(e.get("version")) for e in evs if e.get("event") == "migration_finished"}
            if started and started[-1].get("version") not in done:
                s = started[-1]
                where = f"in {s['version']}{'' if s.get('transactional', True) else ' (no-tx)'}"
            elif started:
                where = f"after {started[-1]['version']}"
            note = h.engine.after_kill(self.db, self.rng)
            self.kill_notes.append(f"{delay:.2f}s {where}" + (f", {note}" if note else ""))

    def final(self, url: str) -> None:
        h = self.h
        up = run(self.up_cmd(url), cwd=h.project, timeout=UP_TIMEOUT)
        self.up_exit = up.returncode
        if up.returncode != 0:
            self.stuck = True
            self.message = strata_error(up)
            self.details.append(f"final `strata up` exit {up.returncode}:")
            self.details += ["  " + ln for ln in self.message.splitlines()]
            self.details += self.culprit(self.message)
        status = self.strata(url, "status", "--format", "json")
        history = self.strata(url, "history", "--format", "json")
        self.check_history(status, history)
        if self.stuck:
            self.details += self.history_of(history, self.message)
            self.details += h.engine.stuck_context(self.db)
            return
        if self.lying:
            return
        got = h.engine.canonical(self.db)
        if got != h.reference:
            self.mismatch = True
            diff = list(difflib.unified_diff(h.reference, got, "reference", "strata", lineterm="", n=1))
            self.details.append("schema/data differ from the reference:")
            self.details += ["  " + ln for ln in diff[2:]]

    def check_history(self, status: Result, history: Result) -> None:
        problems = []
        try:
            st = json.loads(status.stdout)
            states = {m["version"]: m["state"] for m in st["migrations"]}
        except (json.JSONDecodeError, KeyError, TypeError):
            problems.append(f"`strata status --format json` exit {status.returncode}: {truncate(status.output, 5)}")
            states = {}
        try:
            entries = json.loads(history.stdout)["entries"]
        except (json.JSONDecodeError, KeyError, TypeError):
            problems.append(f"`strata history --format json` exit {history.returncode}: {truncate(history.output, 5)}")
            entries = []
        applies: dict[str, int] = {}
        for e in entries:
            if e.get("action") == "apply":
                applies[e["version"]] = applies.get(e["version"], 0) + 1
        twice = sorted(v for v, n in applies.items() if n > 1)
        if twice:
            problems.append(f"history records these migrations applied more than once: {', '.join(twice)}")
        if not self.stuck and states:
            wrong = {v: s for v, s in states.items() if s != "applied"}
            if wrong or len(states) != len(self.h.migrations):
                problems.append(f"`strata up` exit 0 but status has {len(states)} migrations, not applied: {wrong}")
            missing = sorted(v for v, s in states.items() if s == "applied" and v not in applies)
            if missing:
                problems.append(f"status says applied but history has no apply entry: {', '.join(missing[:10])}")
        if problems:
            self.lying = True
            self.details.append("history lies:")
            self.details += ["  " + p for p in problems]

    def culprit(self, message: str) -> list[str]:
        """The up section of the migration the error names, with the failing line marked."""
        m = re.search(r"(migrations/(\d+)_[^\s:]+\.sql):(\d+)", message)
        if not m:
            return []
        path, line = self.h.project / m.group(1), int(m.group(3))
        if not path.exists():
            return []
        out = [f"{m.group(1)} (up section; >> = line {line}):"]
        for i, text in enumerate(path.read_text().splitlines(), 1):
            if text.startswith("-- strata:down"):
                break
            out.append(f"  {'>>' if i == line else '  '} {text}")
        return out

    def history_of(self, history: Result, message: str) -> list[str]:
        m = re.search(r"app/(\d+)", message)
        if not m:
            return []
        try:
            entries = json.loads(history.stdout)["entries"]
        except (json.JSONDecodeError, KeyError, TypeError):
            return []
        out = [f"history of app/{m.group(1)}:"]
        for e in entries:
            if e.get("version") == m.group(1):
                detail = (e.get("detail") or "").splitlines()
                out.append(f"  {e.get('action')} -> {e.get('status')}" + (f": {detail[0]}" if detail else ""))
        return out

    def line(self) -> str:
        kills = "; ".join(self.kill_notes) or "none"
        verdict = []
        if self.stuck:
            verdict.append(f"STUCK (exit {self.up_exit})")
        if self.lying:
            verdict.append("LYING")
        if self.mismatch:
            verdict.append("SCHEMA MISMATCH")
        head = (f"{self.h.engine.name} cycle {self.index}: {self.kills} kill(s) [{kills}] -> "
                f"{', '.join(verdict) or 'ok'}")
        if not self.details:
            return head
        return head + "\n" + "\n".join("    " + ln for ln in truncate("\n".join(self.details)).splitlines())


class Harness:
    def __init__(self, args):
        self.args = args
        self.seed = args.seed if args.seed is not None else random.randrange(1, 1_000_000)
        self.strata = str(Path(args.strata).resolve())
        self.keep = args.keep
        self.children: list[subprocess.Popen] = []
        self.prefix = f"crash_{args.engine[:2]}_{os.getpid()}_{random.randrange(16**6):06x}"
        self.workdir = Path(tempfile.mkdtemp(prefix=f"strata-crash-{args.engine}-"))
        self.project = self.workdir / "project"
        self.reference: list[str] = []
        self.migrations: list[Migration] = []

    def kill_children(self) -> None:
        for p in self.children:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.children.clear()

    def check_strata(self) -> None:
        if not os.access(self.strata, os.X_OK):
            raise HarnessError(f"{self.strata} is not an executable; build it with `cargo build -p strata_cli` or pass --strata")
        r = run([self.strata, "up", "--help"])
        must(r, "strata up --help")
        self.lock_timeout_flag = "--lock-timeout" in r.stdout

    def write_project(self) -> None:
        (self.project / "migrations").mkdir(parents=True)
        engine = "mysql" if self.args.engine == "mysql" else self.args.engine
        (self.project / "strata.toml").write_text(
            f'[[source]]\nname = "app"\npath = "migrations"\nformat = "strata"\nengine = "{engine}"\n')
        for m in self.migrations:
            (self.project / "migrations" / m.filename).write_text(m.text())

    def main(self) -> int:
        try:
            return self.run_cycles()
        finally:
            self.kill_children()
            if not self.keep:
                shutil.rmtree(self.workdir, ignore_errors=True)
            else:
                print(f"kept: {self.workdir} (databases {self.prefix}_*)")

    def run_cycles(self) -> int:
        a = self.args
        self.check_strata()
        self.engine = {"postgres": Postgres, "mysql": MySQL}.get(a.engine, lambda: Sqlite(self.workdir))()
        self.migrations = generate(a.engine, self.seed, a.migrations)
        self.write_project()
        notx = sum(m.notx for m in self.migrations)
        print(f"{a.engine}: seed {self.seed}, {len(self.migrations)} migrations ({notx} no-transaction), "
              f"strata {self.strata}", flush=True)
        ref = f"{self.prefix}_ref"
        cycles: list[Cycle] = []
        try:
            self.engine.create(ref)
            t0 = time.monotonic()
            self.engine.apply_reference(ref, self.migrations, self.workdir)
            self.reference = self.engine.canonical(ref)
            print(f"reference built in {time.monotonic() - t0:.1f}s "
                  f"({sum(ln.startswith('ROWS ') for ln in self.reference)} tables)", flush=True)
            for i in range(1, a.cycles + 1):
                c = Cycle(self, i)
                cycles.append(c)
                try:
                    c.run()
                except HarnessError as e:
                    print(f"{a.engine} cycle {i}: HARNESS ERROR: {e}", flush=True)
                    raise
                print(c.line(), flush=True)
        finally:
            self.kill_children()
            if not self.keep:
                self.engine.drop(ref)
        stuck = sum(c.stuck for c in cycles)
        lying = sum(c.lying for c in cycles)
        mism = sum(c.mismatch for c in cycles)
        print(f"{a.engine}: {len(cycles)} cycles, {sum(c.kills for c in cycles)} kills, {stuck} stuck, "
              f"{lying} lying, {mism} schema mismatches (seed {self.seed})")
        msgs: dict[str, int] = {}
        for c in cycles:
            if c.stuck:
                k = normalise(c.message)
                msgs[k] = msgs.get(k, 0) + 1
        for k, n in sorted(msgs.items(), key=lambda kv: -kv[1]):
            print(f"  {n}x {k}")
        return 1 if (stuck or lying or mism) else 0


def main() -> int:
    ap = argparse.ArgumentParser(description="kill -9 harness for strata", formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("Usage:")[0])
    ap.add_argument("--engine", required=True, choices=["postgres", "mysql", "sqlite"])
    ap.add_argument("--cycles", type=int, required=True)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--strata", default=str(HERE.parent / "target" / "debug" / "strata"))
    ap.add_argument("--migrations", type=int, default=150)
    ap.add_argument("--keep", action="store_true", help="keep the project directory and the databases")
    args = ap.parse_args()
    if args.cycles < 1 or args.migrations < 1:
        ap.error("--cycles and --migrations must be at least 1")
    h = Harness(args)
    try:
        return h.main()
    except HarnessError as e:
        print(f"harness error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
