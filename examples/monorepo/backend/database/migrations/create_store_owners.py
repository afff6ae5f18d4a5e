"""Link stores to the Supabase profiles that own them."""
# strata:requires supabase/20240101000000
from _db import column_exists, execute, scalar, table_exists  # noqa: F401


def run_migration():
    execute("CREATE TABLE store_owners (store_id bigint NOT NULL REFERENCES stores(id), profile_id uuid NOT NULL REFERENCES profiles(id), PRIMARY KEY (store_id, profile_id))")


def rollback_migration():
    execute("DROP TABLE store_owners")


def verify_migration():
    return table_exists('store_owners')
