"""Create the orders table."""
from _db import column_exists, execute, scalar, table_exists  # noqa: F401


def run_migration():
    execute("CREATE TABLE orders (id bigserial PRIMARY KEY, store_id bigint NOT NULL REFERENCES stores(id), placed_at timestamptz NOT NULL DEFAULT now(), total_cents integer NOT NULL DEFAULT 0)")


def rollback_migration():
    execute("DROP TABLE orders")


def verify_migration():
    return table_exists('orders')
