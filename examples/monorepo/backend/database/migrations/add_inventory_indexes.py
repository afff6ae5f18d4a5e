"""Index what the stock reports filter on."""
from _db import column_exists, execute, scalar, table_exists  # noqa: F401


def run_migration():
    execute("CREATE INDEX inventory_low_stock ON inventory (quantity) WHERE quantity < 10; CREATE INDEX price_history_product ON price_history (product_id, valid_from)")


def rollback_migration():
    execute("DROP INDEX price_history_product; DROP INDEX inventory_low_stock")


def verify_migration():
    return scalar("SELECT count(*) FROM pg_indexes WHERE indexname IN ('inventory_low_stock', 'price_history_product')") == '2'
