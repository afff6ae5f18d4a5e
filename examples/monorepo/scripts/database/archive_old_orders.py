#!/usr/bin/env python3
"""Mark orders older than a year (or the days given) as shipped."""
import sys

from _db import execute

days = int(sys.argv[1]) if len(sys.argv) > 1 else 365
execute(f"UPDATE orders SET status = 'shipped' WHERE status = 'paid' AND placed_at < now() - interval '{days} days'")
print(f"archived orders older than {days} days")
