"""Helpers for the maintenance scripts: SQL through psql."""
import subprocess


def rows(sql):
    out = subprocess.run(
        ["psql", "-X", "-q", "-t", "-A", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def execute(sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True)
