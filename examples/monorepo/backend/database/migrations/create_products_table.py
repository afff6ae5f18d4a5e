"""Create the products table, each product sold by one store."""
from _db import column_exists, execute, scalar, table_exists  # noqa: F401


def run_migration():
    execute("CREATE TABLE products (id bigserial PRIMARY KEY, store_id bigint NOT NULL REFERENCES stores(id), name text NOT NULL, price_cents integer NOT NULL CHECK (price_cents >= 0))")


def rollback_migration():
    execute("DROP TABLE products")


def verify_migration():
    return table_exists('products')
