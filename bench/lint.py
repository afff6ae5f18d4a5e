#!/usr/bin/env python3
"""Times `strata lint` against squawk (PyPI `squawk-cli`) on the same files.

Usage: python3 bench/lint.py [N] (default 1000)

Generates N PostgreSQL migrations in strata's format (a table of mixed
columns, an index, an added column, a constraint, some inserts, and a down
section), then reports the median wall time of a few runs of

  strata lint migrations/       (squawk's rules and strata's, in-process)
  squawk migrations/*.sql       (squawk's own CLI over the same files)

and the ratio. squawk-cli is installed into a throwaway directory with pip.
strata is built in release mode first (cargo build --release -p strata_cli).
Target: strata lint <= 1.0x squawk.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = 5


def migration(i):
    prev = f"t{i - 1}" if i > 1 else None
    fk = f",\n    parent_id bigint REFERENCES {prev} (id)" if prev else ""
    return f"""-- strata:up
CREATE TABLE t{i} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    amount numeric(12, 2),
    flags int{fk}
);
CREATE INDEX t{i}_name ON t{i} (name);
ALTER TABLE t{i} ADD COLUMN note varchar(200);
ALTER TABLE t{i} ADD CONSTRAINT t{i}_amount_positive CHECK (amount >= 0);
INSERT INTO t{i} (name, amount) VALUES ('a', 1), ('b', 2), ('c', 3);
UPDATE t{i} SET flags = 0 WHERE flags IS NULL;

-- strata:down
DROP TABLE t{i};
"""


def timed(cmd, cwd):
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "strata_cli"], cwd=ROOT, check=True)
    strata = os.path.join(ROOT, "target", "release", "strata")
    with tempfile.TemporaryDirectory() as work:
        tools = os.path.join(work, "tools")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", tools, "squawk-cli"],
                       check=True)
        squawk = os.path.join(tools, "bin", "squawk")
        version = subprocess.run([squawk, "--version"], capture_output=True, text=True).stdout.strip()
        project = os.path.join(work, "project")
        os.makedirs(os.path.join(project, "migrations"))
        with open(os.path.join(project, "strata.toml"), "w") as f:
            f.write('[[source]]\nname = "app"\npath = "migrations"\nengine = "postgres"\n')
        files = []
        for i in range(1, n + 1):
            name = f"{i:05d}_step_{i}.sql"
            files.append(os.path.join("migrations", name))
            with open(os.path.join(project, "migrations", name), "w") as f:
                f.write(migration(i))
        commands = {
            "strata lint": [strata, "lint", "migrations"],
            "squawk": [squawk, *files],
        }
        for cmd in commands.values():  # warm the page cache
            timed(cmd, project)
        results = {name: statistics.median(timed(cmd, project) for _ in range(RUNS))
                   for name, cmd in commands.items()}
    print(f"{n} migrations, median of {RUNS} runs ({version})")
    for name, secs in results.items():
        print(f"  {name:<12} {secs * 1000:8.1f} ms")
    print(f"  ratio strata/squawk: {results['strata lint'] / results['squawk']:.2f}x (target <= 1.0x)")


if __name__ == "__main__":
    main()
