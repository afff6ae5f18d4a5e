"""Give every store a region."""
from _db import column_exists, execute, scalar, table_exists  # noqa: F401


def run_migration():
    execute("ALTER TABLE stores ADD COLUMN region text NOT NULL DEFAULT 'unknown'")


def rollback_migration():
    execute("ALTER TABLE stores DROP COLUMN region")


def verify_migration():
    return column_exists('stores', 'region')
