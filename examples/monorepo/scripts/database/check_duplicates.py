#!/usr/bin/env python3
# strata: readonly
"""Report stores that share a name in one city."""
import sys

from _db import rows

found = rows("SELECT name, city, count(*) FROM stores GROUP BY name, city HAVING count(*) > 1")
print(f"{len(found)} duplicate store name(s)")
for name, city, n in found:
    print(f"  {name} ({city}): {n} stores")
sys.exit(1 if found else 0)
