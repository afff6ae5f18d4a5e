#!/usr/bin/env python3
"""Install the extensions the application uses (once per database)."""
import subprocess

subprocess.run(
    ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
     "-c", "CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE EXTENSION IF NOT EXISTS citext"],
    check=True,
)
print("extensions ready")
