"""Sort products into categories."""
from _db import column_exists, execute, scalar, table_exists  # noqa: F401


def run_migration():
    execute("CREATE TABLE categories (id serial PRIMARY KEY, name text UNIQUE NOT NULL); ALTER TABLE products ADD COLUMN category_id integer REFERENCES categories(id)")


def rollback_migration():
    execute("ALTER TABLE products DROP COLUMN category_id; DROP TABLE categories")


def verify_migration():
    return column_exists('products', 'category_id')
