"""Orders get a status."""
from _db import column_exists, execute, scalar, table_exists  # noqa: F401


def run_migration():
    execute("ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'shipped', 'cancelled'))")


def rollback_migration():
    execute("ALTER TABLE orders DROP COLUMN status")


def verify_migration():
    return column_exists('orders', 'status')
