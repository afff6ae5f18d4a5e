"""Opening hours per store and weekday."""
from _db import column_exists, execute, scalar, table_exists  # noqa: F401


def run_migration():
    execute("CREATE TABLE store_hours (store_id bigint NOT NULL REFERENCES stores(id), weekday smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7), opens time NOT NULL, closes time NOT NULL, PRIMARY KEY (store_id, weekday))")


def rollback_migration():
    execute("DROP TABLE store_hours")


def verify_migration():
    return table_exists('store_hours')
