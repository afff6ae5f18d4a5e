"""Seed the product categories."""
from _db import column_exists, execute, scalar, table_exists  # noqa: F401


def run_migration(dry_run=False):
    if dry_run:
        print("would seed groceries, household, garden")
        return
    execute("INSERT INTO categories (name) VALUES ('groceries'), ('household'), ('garden') ON CONFLICT (name) DO NOTHING")


def rollback_migration():
    execute("DELETE FROM categories WHERE name IN ('groceries', 'household', 'garden')")


def verify_migration():
    return scalar("SELECT count(*) FROM categories WHERE name = 'garden'") == '1'
