"""Keep every price a product had."""
from _db import column_exists, execute, scalar, table_exists  # noqa: F401


def run_migration():
    execute("CREATE TABLE price_history (product_id bigint NOT NULL REFERENCES products(id), price_cents integer NOT NULL, valid_from timestamptz NOT NULL DEFAULT now())")


def rollback_migration():
    execute("DROP TABLE price_history")


def verify_migration():
    return table_exists('price_history')
