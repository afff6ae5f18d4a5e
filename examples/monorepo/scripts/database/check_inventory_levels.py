#!/usr/bin/env python3
# strata: readonly
"""List products that are nearly out of stock."""
import sys

from _db import rows

found = rows("SELECT p.name, i.quantity FROM inventory i JOIN products p ON p.id = i.product_id WHERE i.quantity < 10 ORDER BY i.quantity")
print(f"{len(found)} product(s) low on stock")
for name, q in found:
    print(f"  {name}: {q}")
