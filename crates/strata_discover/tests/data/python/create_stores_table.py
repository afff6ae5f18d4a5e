"""Create the stores table.

Trap: a helper import and a docstring of several lines.
"""
from _db import connect


def run_migration():
    connect()


def rollback_migration():
    connect()


def verify_migration():
    return True
