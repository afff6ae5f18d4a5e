'''Add a region to every store.'''
# strata:requires supabase/20240101000000
from _db import connect


def run_migration(dry_run=False):
    connect()
