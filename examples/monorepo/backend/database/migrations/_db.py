"""Database helpers for the backend's migrations: SQL through psql."""
import subprocess


def execute(sql):
    """Run SQL (several statements allowed) in one transaction."""
    subprocess.run(
        ["psql", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
    )


def scalar(sql):
    """The first value of the first row of a query, as text."""
    out = subprocess.run(
        ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def table_exists(name):
    return scalar(f"SELECT to_regclass('public.{name}') IS NOT NULL") == "t"


def column_exists(table, column):
    return scalar(
        "SELECT count(*) FROM information_schema.columns "
        f"WHERE table_schema = current_schema() AND table_name = '{table}' AND column_name = '{column}'"
    ) == "1"
