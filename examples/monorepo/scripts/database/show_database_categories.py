#!/usr/bin/env python3
# strata: readonly
"""Show the product categories and how many products each has."""
import sys

from _db import rows

found = rows("SELECT c.name, count(p.id) FROM categories c LEFT JOIN products p ON p.category_id = c.id GROUP BY c.name ORDER BY c.name")
for name, n in found:
    print(f"{name}: {n}")
