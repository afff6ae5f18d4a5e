"""Track stock per product."""
from _db import column_exists, execute, scalar, table_exists  # noqa: F401


def run_migration():
    execute("CREATE TABLE inventory (product_id bigint PRIMARY KEY REFERENCES products(id), quantity integer NOT NULL DEFAULT 0)")


def rollback_migration():
    execute("DROP TABLE inventory")


def verify_migration():
    return table_exists('inventory')
