"""Create the stores table."""
from _db import column_exists, execute, scalar, table_exists  # noqa: F401


def run_migration():
    execute("CREATE TABLE stores (id bigserial PRIMARY KEY, name text NOT NULL, city text, created_at timestamptz NOT NULL DEFAULT now())")


def rollback_migration():
    execute("DROP TABLE stores")


def verify_migration():
    return table_exists('stores')
