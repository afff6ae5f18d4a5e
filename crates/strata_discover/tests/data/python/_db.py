"""Shared connection helper (not a migration)."""
import os


def connect():
    return os.environ["DATABASE_URL"]
