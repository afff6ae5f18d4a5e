"""Create the lines of an order."""
from _db import column_exists, execute, scalar, table_exists  # noqa: F401


def run_migration():
    execute("CREATE TABLE order_items (order_id bigint NOT NULL REFERENCES orders(id), product_id bigint NOT NULL REFERENCES products(id), quantity integer NOT NULL, PRIMARY KEY (order_id, product_id))")


def rollback_migration():
    execute("DROP TABLE order_items")


def verify_migration():
    return table_exists('order_items')
